package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The seed guide's "Shopping Cart": the cart lives in the session as {@code {product_id: {name, price, quantity}}}.
 * API clients get JSON. Browsers ({@code Accept: text/html}) get pages: after adding or emptying, a
 * {@code 303 See Other} to the cart page, so that reloading it or going back never posts the form again.
 */
final class CartExample {

    /** A product of the catalogue. */
    record Product(String id, String name, BigDecimal price) {}

    static final Map<String, Product> CATALOGUE = catalogue(
            new Product("p1", "Vert.x mug", new BigDecimal("12.50")),
            new Product("p2", "Session cookie jar", new BigDecimal("4.99")),
            new Product("p3", "Event loop T-shirt", new BigDecimal("19.99")));

    /** Where a person goes on from a cart page. */
    private static final String BACK_LINKS =
            "<p><a href=\"/shop\">Back to the shop</a> | <a href=\"/dashboard\">Your dashboard</a></p>";

    private CartExample() {}

    static void mount(Router router) {
        router.get("/shop").handler(CartExample::shop);
        router.get("/cart").handler(CartExample::viewCart);
        router.post("/cart/add/:product_id").handler(CartExample::addToCart);
        router.post("/cart/clear").handler(CartExample::clearCart);
    }

    /**
     * GET /cart answers with the items and their total: as JSON, or as a page with links back for browsers
     * ({@code Accept: text/html}).
     */
    private static void viewCart(RoutingContext ctx) {
        Map<String, Object> cart = SessionMiddleware.session(ctx).get("cart", Map.of());
        BigDecimal total = BigDecimal.ZERO;
        StringBuilder rows = new StringBuilder();
        for (Object item : cart.values()) {
            Map<String, Object> fields = asMap(item);
            BigDecimal price = BigDecimal.valueOf(((Number) fields.get("price")).doubleValue()); // exact cents
            long quantity = ((Number) fields.get("quantity")).longValue();
            BigDecimal subtotal = price.multiply(BigDecimal.valueOf(quantity));
            total = total.add(subtotal);
            rows.append("<tr><td>")
                    .append(Pages.escape(fields.get("name")))
                    .append("</td><td>")
                    .append(money(price))
                    .append("</td><td>")
                    .append(quantity)
                    .append("</td><td>")
                    .append(money(subtotal))
                    .append("</td></tr>\n");
        }
        if (!Pages.wantsHtml(ctx)) {
            Pages.json(ctx, new JsonObject().put("items", new JsonObject(cart)).put("total", total.doubleValue()));
            return;
        }
        String contents = cart.isEmpty()
                ? "<p>Your cart is empty.</p>\n"
                : "<table>\n<tr><th>Product</th><th>Price</th><th>Quantity</th><th>Subtotal</th></tr>\n" + rows
                        + "<tr><th colspan=\"3\">Total</th><th>" + money(total) + "</th></tr>\n</table>\n"
                        + "<form method=\"post\" action=\"/cart/clear\"><button type=\"submit\">Empty the cart</button>"
                        + "</form>\n";
        Pages.html(ctx, "Cart", "<h1>Your cart</h1>\n" + contents + BACK_LINKS);
    }

    /**
     * POST /cart/add/:product_id?quantity=N adds to the cart with an atomic update of the stored cart, so parallel
     * adds of one browser all count (with the file and Redis backends).
     */
    private static void addToCart(RoutingContext ctx) {
        String productId = ctx.pathParam("product_id");
        Integer quantity = parseQuantity(ctx.request().getParam("quantity"));
        if (quantity == null) {
            refuse(ctx, 400, "quantity must be a whole number of at least 1");
            return;
        }
        Product product = CATALOGUE.get(productId);
        if (product == null) {
            refuse(ctx, 404, "Product not found");
            return;
        }
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        // The function gets the stored cart (null at first) and may run more than once: it must not change its input.
        session.update("cart", stored -> {
                    Map<String, Object> cart = new LinkedHashMap<>(stored == null ? Map.of() : asMap(stored));
                    Map<String, Object> item = new LinkedHashMap<>();
                    item.put("name", product.name());
                    item.put("price", product.price().doubleValue()); // a JSON number, as it reads back from the store
                    long inCart = cart.containsKey(productId)
                            ? ((Number) asMap(cart.get(productId)).get("quantity")).longValue()
                            : 0;
                    item.put("quantity", inCart + quantity);
                    cart.put(productId, item);
                    return cart;
                })
                .onComplete(ar -> {
                    if (ar.failed()) {
                        Pages.sessionFailure(ctx, ar.cause());
                        return;
                    }
                    if (Pages.wantsHtml(ctx)) {
                        Pages.seeOther(ctx, "/cart"); // a browser's form: show the cart
                    } else {
                        Pages.json(
                                ctx,
                                new JsonObject().put("success", true).put("cart", new JsonObject(asMap(ar.result()))));
                    }
                });
    }

    /** POST /cart/clear empties the cart. */
    private static void clearCart(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        if (session.containsKey("cart")) {
            session.remove("cart");
        }
        if (Pages.wantsHtml(ctx)) {
            Pages.seeOther(ctx, "/cart");
        } else {
            Pages.json(ctx, new JsonObject().put("success", true));
        }
    }

    /** Answers a refused addition: {@code {"error": message}}, or a page with a way back for browsers. */
    private static void refuse(RoutingContext ctx, int status, String message) {
        if (Pages.wantsHtml(ctx)) {
            Pages.html(
                    ctx,
                    status,
                    "Not added",
                    "<h1>Nothing was added to your cart</h1>\n" + Pages.notice("error", message) + BACK_LINKS);
        } else {
            Pages.json(ctx, status, new JsonObject().put("error", message));
        }
    }

    private static String money(BigDecimal amount) {
        return amount.setScale(2, RoundingMode.HALF_UP).toPlainString();
    }

    /** GET /shop is the page a person uses: the catalogue with forms that POST to /cart/add. */
    private static void shop(RoutingContext ctx) {
        StringBuilder rows = new StringBuilder();
        for (Product product : CATALOGUE.values()) {
            rows.append("<tr><td>")
                    .append(Pages.escape(product.name()))
                    .append("</td><td>")
                    .append(product.price().toPlainString())
                    .append("</td><td>")
                    .append("<form method=\"post\" action=\"/cart/add/")
                    .append(product.id())
                    .append("\">")
                    .append("<input name=\"quantity\" type=\"number\" min=\"1\" value=\"1\" size=\"3\"> ")
                    .append("<button type=\"submit\">Add to cart</button></form></td></tr>\n");
        }
        Pages.html(
                ctx,
                "Shop",
                "<h1>Shop</h1>\n"
                        + "<table>\n<tr><th>Product</th><th>Price</th><th></th></tr>\n" + rows + "</table>\n"
                        + "<p><a href=\"/cart\">View the cart</a> (API clients get it as JSON)</p>\n"
                        + "<form method=\"post\" action=\"/cart/clear\"><button type=\"submit\">Empty the cart</button></form>\n"
                        + "<p>Logged in? Your <a href=\"/dashboard\">dashboard</a>. Not yet? <a href=\"/login\">Log in</a>.</p>");
    }

    /** Returns the quantity parameter (1 when absent), or null when it is not a whole number of at least 1. */
    private static Integer parseQuantity(String value) {
        if (value == null) {
            return 1;
        }
        try {
            int quantity = Integer.parseInt(value.trim());
            return quantity >= 1 ? quantity : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value) {
        return (Map<String, Object>) value;
    }

    private static Map<String, Product> catalogue(Product... products) {
        Map<String, Product> catalogue = new LinkedHashMap<>();
        for (Product product : products) {
            catalogue.put(product.id(), product);
        }
        return Collections.unmodifiableMap(catalogue);
    }
}
