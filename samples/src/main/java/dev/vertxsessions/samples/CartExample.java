package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The seed guide's "Shopping Cart": the cart lives in the session as {@code {product_id: {name, price, quantity}}}.
 */
final class CartExample {

    /** A product of the catalogue. */
    record Product(String id, String name, BigDecimal price) {}

    static final Map<String, Product> CATALOGUE = catalogue(
            new Product("p1", "Vert.x mug", new BigDecimal("12.50")),
            new Product("p2", "Session cookie jar", new BigDecimal("4.99")),
            new Product("p3", "Event loop T-shirt", new BigDecimal("19.99")));

    private CartExample() {}

    static void mount(Router router) {
        router.get("/shop").handler(CartExample::shop);
        router.get("/cart").handler(CartExample::viewCart);
        router.post("/cart/add/:product_id").handler(CartExample::addToCart);
        router.post("/cart/clear").handler(CartExample::clearCart);
    }

    /** GET /cart answers with the items and their total. */
    private static void viewCart(RoutingContext ctx) {
        Map<String, Object> cart = SessionMiddleware.session(ctx).get("cart", Map.of());
        BigDecimal total = BigDecimal.ZERO;
        for (Object item : cart.values()) {
            Map<String, Object> fields = asMap(item);
            BigDecimal price = BigDecimal.valueOf(((Number) fields.get("price")).doubleValue()); // exact cents
            total = total.add(price.multiply(BigDecimal.valueOf(((Number) fields.get("quantity")).longValue())));
        }
        Pages.json(ctx, new JsonObject().put("items", new JsonObject(cart)).put("total", total.doubleValue()));
    }

    /**
     * POST /cart/add/:product_id?quantity=N adds to the cart with an atomic update of the stored cart, so parallel
     * adds of one browser all count (with the file and Redis backends).
     */
    private static void addToCart(RoutingContext ctx) {
        String productId = ctx.pathParam("product_id");
        Integer quantity = parseQuantity(ctx.request().getParam("quantity"));
        if (quantity == null) {
            Pages.json(ctx, 400, new JsonObject().put("error", "quantity must be a whole number of at least 1"));
            return;
        }
        Product product = CATALOGUE.get(productId);
        if (product == null) {
            Pages.json(ctx, 404, new JsonObject().put("error", "Product not found"));
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
                    Pages.json(
                            ctx, new JsonObject().put("success", true).put("cart", new JsonObject(asMap(ar.result()))));
                });
    }

    /** POST /cart/clear empties the cart. */
    private static void clearCart(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        if (session.containsKey("cart")) {
            session.remove("cart");
        }
        Pages.json(ctx, new JsonObject().put("success", true));
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
                        + "<p>Adding answers with the cart as JSON; come back here with your browser's back button.</p>\n"
                        + "<table>\n<tr><th>Product</th><th>Price</th><th></th></tr>\n" + rows + "</table>\n"
                        + "<p><a href=\"/cart\">View the cart</a> (JSON)</p>\n"
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
