/// The sign-in form: an admin API key, exchanged for a session.
enum SignInPage {
    static func form(csrf: String, problem: String?) -> HTML {
        let problemLine: HTML = problem.map { "<p class=\"problem\" id=\"problem\">\($0)</p>" } ?? ""
        return """
            <section class="sign-in"><h1>Sign in</h1>
            <p>Sign in with an <strong>admin</strong> API key (<code>console apikey create --role admin</code>, or the one
            printed at first start). Sensor keys cannot sign in.</p>\(problemLine)
            <form method="post" action="/console/sign-in" autocomplete="off">
            <input type="hidden" name="csrf" value="\(csrf)">
            <label>API key <input type="password" name="key" id="key" required autofocus spellcheck="false"></label>
            <button type="submit" id="sign-in">Sign in</button></form></section>
            """
    }
}
