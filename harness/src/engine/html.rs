//! HTML pages parsed at a bounded cost. html5ever's tree builder looks through the stack of open
//! elements for every tag, so its time grows with the page's nesting depth times its size: a
//! 2 MiB page of 200,000 nested `<div>`s costs minutes of CPU. A cheap linear pre-scan of the
//! depth lets the driver refuse such a page in milliseconds, with a sentence saying why.

use super::http::Response;
use crate::limits::{MAX_HTML_DEPTH, body_cut};

/// Whether the login driver may parse a page, or why not: a cut body is not the page the server
/// meant, and a page nesting deeper than `MAX_HTML_DEPTH` costs too much to parse.
pub fn check_page(response: &Response) -> Result<(), String> {
    let url = &response.exchange.url;
    if response.truncated {
        return Err(format!("the page at {url} is too large to read ({})", body_cut()));
    }
    let depth = nesting_depth(&response.body);
    if depth > MAX_HTML_DEPTH {
        return Err(format!("the page at {url} nests {depth} levels deep (the driver parses up to {MAX_HTML_DEPTH}): refused to parse it"));
    }
    Ok(())
}

/// Elements that never have content (no end tag).
const VOID: [&str; 14] = ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];

/// Elements whose end tag may be left out: the parser closes them when a sibling starts, so
/// they do not nest by repetition (`<li><li>` are siblings); not counted either way.
const OPTIONAL_END: [&str; 14] = ["p", "li", "dt", "dd", "option", "optgroup", "rb", "rt", "rtc", "rp", "tr", "td", "th", "colgroup"];

/// Elements whose content is text up to their end tag: a `<` in a script is no tag.
const RAW_TEXT: [&str; 6] = ["script", "style", "textarea", "title", "xmp", "noscript"];

/// The deepest nesting of elements in `html`, by counting start and end tags in one pass. An
/// estimate (it does not apply every HTML parsing rule), but one that never underestimates a
/// page that nests by repeating start tags.
pub fn nesting_depth(html: &str) -> usize {
    let lower = html.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    while let Some(found) = lower[at..].find('<') {
        let start = at + found + 1;
        let rest = &lower[start..];
        if rest.starts_with("!--") {
            at = rest.find("-->").map_or(lower.len(), |end| start + end + 3);
            continue;
        }
        let tag_end = rest.find('>').map_or(lower.len(), |end| start + end + 1);
        let closing = rest.starts_with('/');
        let name_start = if closing { start + 1 } else { start };
        let name_len = bytes[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let name = &lower[name_start..name_start + name_len];
        at = tag_end;
        if name.is_empty() || VOID.contains(&name) || OPTIONAL_END.contains(&name) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        if lower[..tag_end].ends_with("/>") {
            continue;
        }
        depth += 1;
        deepest = deepest.max(depth);
        if RAW_TEXT.contains(&name) {
            // Skip the text to the end tag, which the loop then counts.
            at = lower[at..].find(&format!("</{name}")).map_or(lower.len(), |end| at + end);
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    #[test]
    fn a_login_page_nests_a_few_levels() {
        let page = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>a < b</title>
            <script>if (a<b && c>d) { x = "<div><div>"; }</script></head>
            <body><!-- <div><div><div> --><main><form method="post"><p>Name<input name="u"><br/>
            <ul><li>one<li>two</ul><div class="x"/><label>Password <input type="password" name="p"></label>
            <button>Sign in</button></form></main></body></html>"#;
        // html > body > main > form > label (ul is closed, the self-closed div holds nothing).
        assert_eq!(nesting_depth(page), 5);
    }

    #[test]
    fn deep_nesting_is_measured_in_one_pass() {
        let deep = format!("<html><body>{}{}</body></html>", "<div>".repeat(200_000), "</div>".repeat(200_000));
        assert_eq!(nesting_depth(&deep), 200_002);
        let unclosed = "<b>".repeat(1_000);
        assert_eq!(nesting_depth(&unclosed), 1_000);
        let siblings = "<div><span>x</span></div>".repeat(50_000);
        assert_eq!(nesting_depth(&siblings), 2);
    }

    /// Not a test: how long parsing takes, before and after the depth bound.
    /// `cargo test -p oidc-harness html::tests::parse_cost -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn parse_cost() {
        let time = |what: &str, f: &dyn Fn()| {
            let start = std::time::Instant::now();
            f();
            eprintln!("{what}: {:?}", start.elapsed());
        };
        for n in [1_000, 10_000, 50_000, 200_000] {
            let deep = format!("<html><body>{}{}</body></html>", "<div>".repeat(n), "</div>".repeat(n));
            time(&format!("{n} nested divs ({} bytes): nesting_depth", deep.len()), &|| {
                std::hint::black_box(nesting_depth(&deep));
            });
            // 50,000 took 183 s in a debug build: the time grows with the square of the depth.
            if n <= 10_000 {
                time(&format!("{n} nested divs: Html::parse_document"), &|| drop(Html::parse_document(&deep)));
            }
        }
        // The worst a page within both limits can do: 2 MiB of blocks nested MAX_HTML_DEPTH deep.
        let block = format!("{}{}", "<div>".repeat(MAX_HTML_DEPTH - 2), "</div>".repeat(MAX_HTML_DEPTH - 2));
        let page = format!("<html><body>{}</body></html>", block.repeat(crate::limits::MAX_BODY_BYTES / block.len()));
        assert!(nesting_depth(&page) <= MAX_HTML_DEPTH);
        time(&format!("{} bytes nested {MAX_HTML_DEPTH} deep: Html::parse_document", page.len()), &|| drop(Html::parse_document(&page)));
        let forms = "<form method=post>".to_string() + &"<input type=hidden name=a value=b>".repeat(50) + "</form>";
        let page = format!("<html><body>{}</body></html>", forms.repeat(1_000));
        time(&format!("1000 forms x 50 inputs ({} bytes): Html::parse_document", page.len()), &|| drop(Html::parse_document(&page)));
    }
}
