/// The console's stylesheet and script, built into the binary and served from `/console/assets/`
/// (the Content-Security-Policy allows nothing inline and nothing from elsewhere).
enum ConsoleAssets {
    static let css = """
        :root { --fg: #1d2330; --muted: #6b7385; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; --ok: #1a7f4b; --bad: #b42318; --warn: #a15c07; --accent: #2251c5; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { background: #151a24; color: #fff; }
        nav { display: flex; gap: 18px; align-items: center; padding: 10px 24px; flex-wrap: wrap; }
        nav a { color: #cfd6e4; text-decoration: none; } nav a:hover { color: #fff; }
        nav .brand { font-weight: 600; color: #fff; margin-right: 12px; }
        nav .sign-out { margin-left: auto; }
        main { padding: 20px 24px 60px; max-width: 1400px; }
        h1 { font-size: 22px; margin: 4px 0 14px; overflow-wrap: anywhere; } h2 { font-size: 16px; margin: 18px 0 8px; }
        table { border-collapse: collapse; width: 100%; background: var(--card); margin-bottom: 8px; }
        th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; color: var(--muted); font-size: 12px; }
        td.cmdline { font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
        .cards { display: flex; gap: 16px; flex-wrap: wrap; } .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 4px 14px 12px; flex: 1 1 320px; }
        .big { font-size: 28px; margin: 4px 0; } .muted { color: var(--muted); }
        .badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; }
        .badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.warn { background: var(--warn); }
        .health { padding: 8px 12px; border-radius: 6px; } .health.ok { background: #e3f4ea; } .health.bad { background: #fde8e6; }
        .notice { background: #e8effd; padding: 8px 12px; border-radius: 6px; } .problem { color: var(--bad); }
        .filters { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin-bottom: 10px; }
        input, select, button { font: inherit; padding: 4px 8px; }
        button { background: var(--accent); color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
        button.danger { background: var(--bad); } nav button { background: #39425a; }
        a.button { display: inline-block; padding: 4px 10px; border: 1px solid var(--line); border-radius: 4px; background: var(--card); text-decoration: none; }
        form.inline { display: inline; } ul.plain { list-style: none; padding: 0; } ul.plain li { padding: 2px 0; }
        details.container { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; padding: 4px 10px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; } dl.facts dt { color: var(--muted); }
        svg.chart { width: 100%; max-width: 900px; height: auto; background: var(--card); border: 1px solid var(--line); }
        svg.chart .committed, .swatch.committed { fill: var(--accent); background: var(--accent); }
        svg.chart .refused, .swatch.refused { fill: var(--bad); background: var(--bad); }
        svg.chart .errors { fill: none; stroke: var(--warn); stroke-width: 1.5; } .swatch.errors { background: var(--warn); }
        svg.chart .axis { stroke: var(--line); } svg.chart .axis-label { font-size: 10px; fill: var(--muted); }
        .swatch { display: inline-block; width: 10px; height: 10px; } .grades a { margin-right: 10px; } .grades a.current { font-weight: 700; }
        section.sign-in { max-width: 460px; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 20px 20px; }
        section.sign-in label, section.sign-in input { display: block; width: 100%; margin: 6px 0 12px; }
        code { font-family: ui-monospace, monospace; background: #eef0f4; padding: 1px 4px; overflow-wrap: anywhere; }
        """

    /// Refreshes a page's main part in place every `data-refresh` seconds (the cluster page),
    /// through the same page with `fragment=1`; stops when the session ends.
    static let script = """
        "use strict";
        (function () {
          const part = document.querySelector("[data-refresh]");
          if (!part) return;
          const seconds = Math.max(2, parseInt(part.getAttribute("data-refresh"), 10) || 5);
          const url = new URL(window.location.href);
          url.searchParams.set("fragment", "1");
          async function refresh() {
            try {
              const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
              if (answer.status === 401) { window.location.assign("/console/sign-in"); return; }
              if (answer.ok) {
                const fresh = new DOMParser().parseFromString(await answer.text(), "text/html").body;
                const main = document.getElementById("main");
                main.replaceChildren(...fresh.childNodes);
                main.setAttribute("data-refreshed", new Date().toISOString());
              }
            } catch (error) { /* the next round tries again */ }
            setTimeout(refresh, seconds * 1000);
          }
          setTimeout(refresh, seconds * 1000);
        })();
        """
}
