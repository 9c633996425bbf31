//! The QR code of a magic link, compact enough that the link and its expiry, printed after
//! it, stay on an 80×24 terminal with it.

use qrcode::{Color, EcLevel, QrCode};

/// The quiet zone in modules. The standard asks for four; phone scanners read two well, and
/// the two rows saved keep the whole block on a 24-line terminal.
const QUIET_ZONE: usize = 2;

/// Renders `text` as a terminal QR code: Unicode half-blocks (two modules per character
/// cell) with a two-module quiet zone, at the lowest error-correction level that a screen
/// (which never smudges) needs. Light modules are drawn as glyphs, as `qrencode -t UTF8`
/// does, so that the code reads as dark-on-light on the usual light-on-dark terminal.
pub(crate) fn render_qr(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    // Light (drawn) unless inside the code and dark there.
    let light = |x: usize, y: usize| {
        if x < QUIET_ZONE || y < QUIET_ZONE || x >= width + QUIET_ZONE || y >= width + QUIET_ZONE {
            return true;
        }
        colors[(y - QUIET_ZONE) * width + (x - QUIET_ZONE)] == Color::Light
    };
    let mut out = String::with_capacity(size * size.div_ceil(2) * 3);
    for y in (0..size).step_by(2) {
        if y > 0 {
            out.push('\n');
        }
        for x in 0..size {
            let top = light(x, y);
            // An odd size leaves the last row's bottom half outside the code: not drawn.
            let bottom = y + 1 < size && light(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::render_qr;

    #[test]
    fn a_scalekit_link_fits_in_twenty_rows() {
        let link = "https://acme.scalekit.dev/magicLink/2cbe56de-eec4-41d2-abed-90a5b82286c4";
        let qr = render_qr(link).unwrap();
        assert!(qr.lines().count() <= 20, "{}", qr.lines().count());
        assert!(qr.lines().all(|l| l.chars().count() <= 40));
    }
}
