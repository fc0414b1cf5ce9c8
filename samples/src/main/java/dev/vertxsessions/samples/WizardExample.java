package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The seed guide's "Multi-step Form with Session Data": a sign-up over three pages whose answers wait in the
 * session under {@code wizard_data} until the last step, which removes them.
 */
final class WizardExample {

    static final List<String> PLANS = List.of("basic", "pro", "team");

    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
    private static final SecureRandom RANDOM = new SecureRandom();

    private WizardExample() {}

    static void mount(Router router) {
        router.get("/wizard/step1").handler(WizardExample::step1);
        router.post("/wizard/step1").handler(WizardExample::step1Post);
        router.get("/wizard/step2").handler(WizardExample::step2);
        router.post("/wizard/step2").handler(WizardExample::step2Post);
        router.get("/wizard/confirm").handler(WizardExample::confirm);
        router.post("/wizard/complete").handler(WizardExample::complete);
        router.get("/wizard/success").handler(WizardExample::success);
    }

    private static void step1(RoutingContext ctx) {
        Map<String, Object> data = wizardData(ctx);
        Pages.html(
                ctx,
                "Wizard, step 1",
                "<h1>Sign up, step 1 of 3</h1>\n"
                        + invalidDataNotice(ctx)
                        + "<form method=\"post\" action=\"/wizard/step1\">\n"
                        + "<label>Name <input name=\"name\" value=\"" + Pages.escape(data.get("name"))
                        + "\" required></label>\n"
                        + "<label>Email <input name=\"email\" type=\"email\" value=\"" + Pages.escape(data.get("email"))
                        + "\" required></label>\n<button type=\"submit\">Next</button>\n</form>");
    }

    private static void step1Post(RoutingContext ctx) {
        String name = trimmed(ctx.request().getFormAttribute("name"));
        String email = trimmed(ctx.request().getFormAttribute("email"));
        if (name.isEmpty()
                || name.length() > 100
                || email.length() > 254
                || !EMAIL.matcher(email).matches()) {
            Pages.redirect(ctx, "/wizard/step1?error=invalid_data");
            return;
        }
        Map<String, Object> data = wizardData(ctx);
        data.put("name", name);
        data.put("email", email);
        SessionMiddleware.session(ctx).put("wizard_data", data); // put it back: the session stores a copy
        Pages.redirect(ctx, "/wizard/step2");
    }

    private static void step2(RoutingContext ctx) {
        Map<String, Object> data = wizardData(ctx);
        if (!data.containsKey("name")) {
            Pages.redirect(ctx, "/wizard/step1");
            return;
        }
        StringBuilder plans = new StringBuilder();
        for (String plan : PLANS) {
            plans.append("<label><input type=\"radio\" name=\"plan\" value=\"")
                    .append(plan)
                    .append('"')
                    .append(plan.equals(data.getOrDefault("plan", "basic")) ? " checked" : "")
                    .append("> ")
                    .append(plan)
                    .append("</label>\n");
        }
        Pages.html(
                ctx,
                "Wizard, step 2",
                "<h1>Sign up, step 2 of 3</h1>\n"
                        + "<p>Hello " + Pages.escape(data.get("name")) + ", choose a plan.</p>\n"
                        + invalidDataNotice(ctx)
                        + "<form method=\"post\" action=\"/wizard/step2\">\n" + plans
                        + "<button type=\"submit\">Next</button>\n</form>\n"
                        + "<p><a href=\"/wizard/step1\">Back to step 1</a></p>");
    }

    private static void step2Post(RoutingContext ctx) {
        Map<String, Object> data = wizardData(ctx);
        if (!data.containsKey("name")) {
            Pages.redirect(ctx, "/wizard/step1");
            return;
        }
        String plan = ctx.request().getFormAttribute("plan");
        if (plan == null || !PLANS.contains(plan)) {
            Pages.redirect(ctx, "/wizard/step2?error=invalid_data");
            return;
        }
        data.put("plan", plan);
        SessionMiddleware.session(ctx).put("wizard_data", data);
        Pages.redirect(ctx, "/wizard/confirm");
    }

    private static void confirm(RoutingContext ctx) {
        Map<String, Object> data = wizardData(ctx);
        String missingStep = missingStep(data);
        if (missingStep != null) {
            Pages.redirect(ctx, missingStep);
            return;
        }
        Pages.html(
                ctx,
                "Wizard, confirm",
                "<h1>Sign up, step 3 of 3: confirm</h1>\n<ul>\n"
                        + "<li>Name: " + Pages.escape(data.get("name")) + "</li>\n"
                        + "<li>Email: " + Pages.escape(data.get("email")) + "</li>\n"
                        + "<li>Plan: " + Pages.escape(data.get("plan")) + "</li>\n</ul>\n"
                        + "<form method=\"post\" action=\"/wizard/complete\"><button type=\"submit\">Sign up</button></form>\n"
                        + "<p><a href=\"/wizard/step1\">Change name or email</a> | <a href=\"/wizard/step2\">Change plan</a></p>");
    }

    /** POST /wizard/complete processes the answers and removes them from the session. */
    private static void complete(RoutingContext ctx) {
        BaseSessionInterface session = SessionMiddleware.session(ctx);
        Map<String, Object> data = wizardData(ctx);
        String missingStep = missingStep(data);
        if (missingStep != null) {
            Pages.redirect(ctx, missingStep);
            return;
        }
        String id = process(data);
        session.remove("wizard_data");
        Pages.redirect(ctx, "/wizard/success?id=" + id);
    }

    private static void success(RoutingContext ctx) {
        Pages.html(
                ctx,
                "Signed up",
                "<h1>Thank you!</h1>\n"
                        + "<p>Your sign-up number is <strong>"
                        + Pages.escape(ctx.request().getParam("id")) + "</strong>.</p>\n"
                        + "<p>The wizard's answers are gone from your session: <a href=\"/session-demo\">check</a>. "
                        + "<a href=\"/wizard/step1\">Start again</a>.</p>");
    }

    /** Stands in for saving the sign-up somewhere; returns its ID. */
    @SuppressWarnings("UnusedVariable") // a stand-in: a real application would store the data
    private static String process(Map<String, Object> data) {
        byte[] id = new byte[6];
        RANDOM.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    /** Returns a modifiable copy of the wizard's answers so far (empty at first). */
    private static Map<String, Object> wizardData(RoutingContext ctx) {
        Map<String, Object> stored = SessionMiddleware.session(ctx).get("wizard_data", Map.of());
        return new LinkedHashMap<>(stored);
    }

    /** Returns the page of the first step not done yet, or null when every step is done. */
    private static String missingStep(Map<String, Object> data) {
        return !data.containsKey("name") ? "/wizard/step1" : !data.containsKey("plan") ? "/wizard/step2" : null;
    }

    private static String invalidDataNotice(RoutingContext ctx) {
        return "invalid_data".equals(ctx.request().getParam("error"))
                ? Pages.notice("error", "Please check your answers.")
                : "";
    }

    private static String trimmed(String value) {
        return value == null ? "" : value.trim();
    }
}
