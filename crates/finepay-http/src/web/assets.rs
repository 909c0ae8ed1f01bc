//! The CSS, JavaScript and CJK font the pages use, carried by the binary and served under names
//! that hold a hash of their content, so browsers cache them for a year and never see a stale one.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

struct Asset {
    path: String,
    content_type: &'static str,
    bytes: Vec<u8>,
}

struct Assets {
    css: Asset,
    js: Asset,
    font: Asset,
}

fn asset(stem: &str, ext: &str, content_type: &'static str, bytes: Vec<u8>) -> Asset {
    let hash = hex::encode(&Sha256::digest(&bytes)[..6]);
    Asset {
        path: format!("/static/{stem}.{hash}.{ext}"),
        content_type,
        bytes,
    }
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let font = asset(
        "noto-sans-sc-subset",
        "otf",
        "font/otf",
        finepay_documents::CJK_FONT_OTF.to_vec(),
    );
    // The stylesheet names the font by its hashed path.
    let css = include_str!("../../static/app.css").replace("{{FONT_URL}}", &font.path);
    Assets {
        css: asset("app", "css", "text/css; charset=utf-8", css.into_bytes()),
        js: asset(
            "app",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../static/app.js").to_vec(),
        ),
        font,
    }
});

pub fn css_path() -> &'static str {
    &ASSETS.css.path
}

pub fn js_path() -> &'static str {
    &ASSETS.js.path
}

/// The font's licence (SIL OFL 1.1), which travels with the font.
const FONT_LICENCE: &str = include_str!("../../../finepay-documents/fonts/OFL.txt");

pub async fn serve(Path(name): Path<String>) -> Response {
    if name == "OFL.txt" {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            FONT_LICENCE,
        )
            .into_response();
    }
    let wanted = format!("/static/{name}");
    let a = &*ASSETS;
    match [&a.css, &a.js, &a.font]
        .into_iter()
        .find(|asset| asset.path == wanted)
    {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
