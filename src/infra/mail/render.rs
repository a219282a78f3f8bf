//! A message's words in the recipient's language, from the i18n catalogues, as a subject, a
//! plain-text body and an HTML body. The HTML is the text in paragraphs, written through maud
//! (as the impact page is), so whatever a user typed (a name, a note, an address) reaches the HTML part as text, never as markup.

use maud::{DOCTYPE, html};

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
/// the catalogue; single line breaks are kept. The HTML is written by maud, which escapes
/// every value it is given.
pub fn render(language: Language, subject: &Message, body: &Message) -> Rendered {
    let subject = subject
        .in_language(language)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text = body.in_language(language).replace("\r\n", "\n");
    let html = html! {
        (DOCTYPE)
        html lang=(language.tag()) {
            head { meta charset="utf-8"; title { (subject) } }
            body {
                @for paragraph in paragraphs(&text) {
                    p {
                        @for (index, line) in paragraph.lines().enumerate() {
                            @if index > 0 { br; }
                            (line)
                        }
                    }
                }
            }
        }
    }
    .into_string();
    Rendered { subject, text, html }
}

/// The body's paragraphs: separated by a blank line, trimmed, empty ones left out.
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
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
        assert!(rendered.html.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert_eq!(rendered.subject, "Not on sale.");
    }

    #[test]
    fn paragraphs_and_lines_keep_their_breaks() {
        let body = Message::new("allowance-product-not-eligible").with("product", "您好\n\n<谢谢>\n");
        let rendered = render(Language::ZhCn, &Message::new("code-NOT_ON_SALE"), &body);
        assert!(rendered.html.contains("<p>&lt;谢谢&gt;"), "{}", rendered.html);
        assert_eq!(rendered.html.matches("<p>").count(), 2, "{}", rendered.html);
        let words = paragraphs("您好，\n订单已发货。\n\n\n<谢谢>\n").collect::<Vec<_>>();
        assert_eq!(words, ["您好，\n订单已发货。", "<谢谢>"]);
    }
}
