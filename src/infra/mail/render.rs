//! A message's words in the recipient's language, from the i18n catalogues, as a subject, a
//! plain-text body and an HTML body. The HTML is the text, escaped, in paragraphs: whatever a
//! user typed (a name, a note, an address) reaches the HTML part as text, never as markup.

use crate::infra::i18n::{Language, Message};

/// A subject and its bodies, ready for [`OutgoingMail::new`](super::OutgoingMail::new).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// One line: line breaks in the catalogue's words become spaces.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `subject` and `body` in `language`. Paragraphs of the body are separated by a blank line in
/// the catalogue; single line breaks are kept.
pub fn render(language: Language, subject: &Message, body: &Message) -> Rendered {
    let subject = subject
        .in_language(language)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text = body.in_language(language).replace("\r\n", "\n");
    let paragraphs = html_paragraphs(&text);
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n{paragraphs}</body>\n</html>\n",
        lang = language.tag(),
        title = escape_html(&subject),
    );
    Rendered { subject, text, html }
}

/// Paragraphs (separated by a blank line) as `<p>`, line breaks within one as `<br>`, all
/// text escaped.
fn html_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| {
            let lines: Vec<String> = paragraph.lines().map(escape_html).collect();
            format!("<p>{}</p>\n", lines.join("<br>\n"))
        })
        .collect()
}

/// `text` safe inside an HTML element or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_an_argument_is_text_in_the_html_and_as_typed_in_the_text() {
        let typed = "<img src=x onerror=alert(1)> & \"花开\"";
        let body = Message::new("allowance-product-not-eligible").with("product", typed);
        let rendered = render(Language::En, &Message::new("code-NOT_ON_SALE"), &body);
        assert!(rendered.text.contains(typed), "{}", rendered.text);
        assert!(!rendered.html.contains("<img"), "{}", rendered.html);
        assert!(
            rendered
                .html
                .contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;花开&quot;"),
            "{}",
            rendered.html
        );
        assert!(rendered.html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert_eq!(rendered.subject, "Not on sale.");
    }

    #[test]
    fn paragraphs_and_lines_keep_their_breaks() {
        assert_eq!(
            html_paragraphs("您好，\n订单已发货。\n\n\n<谢谢>\n"),
            "<p>您好，<br>\n订单已发货。</p>\n<p>&lt;谢谢&gt;</p>\n"
        );
        assert_eq!(escape_html("'<>&\""), "&#39;&lt;&gt;&amp;&quot;");
    }
}
