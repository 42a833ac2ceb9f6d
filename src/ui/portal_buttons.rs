//! "Open in Portal" and "Copy Portal link" beside a vault, secret, key or certificate; greyed out with the
//! reason where there is no Portal page (the emulator, a vault ARM does not list).

use egui::Ui;

use super::state::Intent;

/// The two buttons for `link` (the Portal page, or why there is none).
pub fn portal_buttons_ui(
    ui: &mut Ui,
    link: Result<String, &'static str>,
    intents: &mut Vec<Intent>,
) {
    match link {
        Ok(link) => {
            if ui
                .button("Open in Portal")
                .on_hover_text(format!("Open in the browser: {link}"))
                .clicked()
            {
                intents.push(Intent::OpenUrl(link.clone()));
            }
            if ui.button("Copy Portal link").on_hover_text(&link).clicked() {
                intents.push(Intent::CopyText {
                    what: "the Portal link".into(),
                    text: link,
                });
            }
        }
        Err(reason) => {
            ui.add_enabled(false, egui::Button::new("Open in Portal"))
                .on_disabled_hover_text(reason);
            ui.add_enabled(false, egui::Button::new("Copy Portal link"))
                .on_disabled_hover_text(reason);
        }
    }
}
