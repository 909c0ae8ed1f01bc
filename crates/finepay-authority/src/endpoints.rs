//! The endpoints file (SPEC §10): where the platform finds each city's traffic authority and the
//! bank. `finepay sandbox` writes one for itself; `finepay serve --endpoints FILE` reads one.
//! It lives here, beside the protocol, so that its parser can be fuzzed without the platform.
//!
//! ```toml
//! [bank]
//! base_url = "https://bank.example.cn"
//!
//! [[city]]
//! code = "110000"
//! name = "Beijing"
//! name_zh = "北京"
//! decision_prefixes = ["110000"]
//! plate_prefixes = ["京"]
//! base_url = "https://jtgl.beijing.example.cn/authority/v1/110000"
//! hmac_key_file = "keys/110000.hex"   # or hmac_key = "<hex>"; a relative path is from this file
//! payee = "北京市公安局公安交通管理局"      # optional: the receipts' payee (default: the built-in
//! payee_en = "Beijing Traffic Management Bureau"  # city list's, else named after the city)
//! ```
//!
//! Every city the platform knows (its names, plate prefixes, payee, routing) comes from here; the
//! embedded sandboxes get the same file made from the built-in city list ([`for_sandbox`]).

use crate::Catalogue;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the sandbox's data directory.
pub const FILE_NAME: &str = "endpoints.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointsFile {
    pub bank: BankEndpoint,
    #[serde(rename = "city")]
    pub cities: Vec<CityEndpoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankEndpoint {
    pub base_url: String,
    /// The key the bank gave the platform, if its protocol asks for one (the sandbox's does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityEndpoint {
    /// The 6-digit administrative division code (GB/T 2260).
    pub code: String,
    pub name: String,
    pub name_zh: String,
    /// Decision numbers starting with one of these go to this authority (longest prefix wins).
    pub decision_prefixes: Vec<String>,
    /// Plates starting with one of these are registered by this authority.
    pub plate_prefixes: Vec<String>,
    pub base_url: String,
    /// The HMAC key, hex; or `hmac_key_file`, a file holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_key_file: Option<PathBuf>,
    /// The authority that receives the fines, in Chinese, as receipts name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee: Option<String>,
    /// The same in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_en: Option<String>,
}

/// One city's authority, ready to use.
#[derive(Debug, Clone)]
pub struct CityRoute {
    pub city: finepay_domain::City,
    pub decision_prefixes: Vec<String>,
    pub base_url: String,
    pub key: Vec<u8>,
}

/// The file read and checked: every city with its key, and the bank.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub bank_url: String,
    pub cities: Vec<CityRoute>,
}

/// Reads and checks an endpoints file; every error names the file and what to fix (TOML errors
/// give the line and column).
pub fn load(path: &Path) -> anyhow::Result<Endpoints> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the endpoints file {}", path.display()))?;
    let file: EndpointsFile =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    resolve(&file, path)
}

/// Checks a file's contents and reads its key files; `path` is where it is (or would be): key
/// files are found from its folder, and errors name it.
pub fn resolve(file: &EndpointsFile, path: &Path) -> anyhow::Result<Endpoints> {
    let base = path.parent().unwrap_or(Path::new("."));
    let where_ = |i: usize, code: &str| format!("{}: city {} ({code})", path.display(), i + 1);
    check_url(&file.bank.base_url)
        .with_context(|| format!("{}: [bank] base_url", path.display()))?;
    if file.cities.is_empty() {
        anyhow::bail!(
            "{}: no [[city]]: name at least one authority",
            path.display()
        );
    }
    let mut cities = Vec::new();
    for (i, c) in file.cities.iter().enumerate() {
        let at = where_(i, &c.code);
        let code =
            finepay_domain::CityCode::parse(&c.code).with_context(|| format!("{at}: code"))?;
        if file.cities[..i]
            .iter()
            .any(|earlier| earlier.code == c.code)
        {
            anyhow::bail!("{at}: this city is listed twice");
        }
        if c.name.trim().is_empty() || c.name_zh.trim().is_empty() {
            anyhow::bail!("{at}: name and name_zh must not be empty");
        }
        check_url(&c.base_url).with_context(|| format!("{at}: base_url"))?;
        if c.decision_prefixes.is_empty()
            || c.decision_prefixes
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            anyhow::bail!("{at}: decision_prefixes must list one or more runs of digits");
        }
        if c.plate_prefixes.is_empty() || c.plate_prefixes.iter().any(|p| p.trim().is_empty()) {
            anyhow::bail!("{at}: plate_prefixes must list one or more (e.g. [\"京\"])");
        }
        let key_hex = match (&c.hmac_key, &c.hmac_key_file) {
            (Some(k), None) => k.clone(),
            (None, Some(f)) => {
                let f = if f.is_absolute() {
                    f.clone()
                } else {
                    base.join(f)
                };
                std::fs::read_to_string(&f)
                    .with_context(|| format!("{at}: cannot read hmac_key_file {}", f.display()))?
            }
            _ => anyhow::bail!("{at}: give exactly one of hmac_key and hmac_key_file"),
        };
        let key = hex::decode(key_hex.trim())
            .with_context(|| format!("{at}: the HMAC key is not hex"))?;
        if key.len() < 16 {
            anyhow::bail!("{at}: the HMAC key must have at least 16 bytes");
        }
        let builtin = Catalogue::builtin().city(&c.code);
        let payee = c
            .payee
            .clone()
            .or_else(|| builtin.map(|b| b.payee.clone()))
            .unwrap_or_else(|| format!("{}公安局交通管理部门", c.name_zh));
        let payee_en = c
            .payee_en
            .clone()
            .or_else(|| builtin.map(|b| b.payee_en.clone()))
            .unwrap_or_else(|| format!("{} Traffic Police", c.name));
        cities.push(CityRoute {
            city: finepay_domain::City {
                code,
                name: c.name.clone(),
                name_zh: c.name_zh.clone(),
                plate_prefixes: c
                    .plate_prefixes
                    .iter()
                    .map(|p| p.trim().to_uppercase())
                    .collect(),
                payee,
                payee_en,
            },
            decision_prefixes: c.decision_prefixes.clone(),
            base_url: c.base_url.trim_end_matches('/').to_string(),
            key,
        });
    }
    Ok(Endpoints {
        bank_url: file.bank.base_url.trim_end_matches('/').to_string(),
        cities,
    })
}

fn check_url(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        other => anyhow::bail!("`{url}`: use http:// or https://, not {other}://"),
    }
}

/// The endpoints file of a sandbox serving every catalogue city at `base` (`http://host:port`),
/// its HMAC key in `key_file` (a name in the same directory).
pub fn for_sandbox(base: &str, key_file: &str) -> EndpointsFile {
    EndpointsFile {
        bank: BankEndpoint {
            base_url: base.to_string(),
            key: None,
        },
        cities: Catalogue::builtin()
            .cities()
            .iter()
            .map(|c| CityEndpoint {
                code: c.code.clone(),
                name: c.name.clone(),
                name_zh: c.name_zh.clone(),
                decision_prefixes: vec![c.code.clone()],
                plate_prefixes: vec![c.plate_prefix.clone()],
                base_url: format!("{base}/authority/v1/{}", c.code),
                hmac_key: None,
                hmac_key_file: Some(PathBuf::from(key_file)),
                payee: Some(c.payee.clone()),
                payee_en: Some(c.payee_en.clone()),
            })
            .collect(),
    }
}

/// Writes the file whole (a temporary file renamed into place).
pub fn write(path: &Path, file: &EndpointsFile) -> anyhow::Result<()> {
    let text = format!(
        "# Written by finepay (`finepay sandbox`, or `serve` for its in-process sandboxes): point a platform at it with `finepay serve --endpoints {}`.\n{}",
        path.display(),
        toml::to_string_pretty(file).context("cannot encode the endpoints file")?
    );
    // A name of its own per writer: two instances starting together on one data directory each
    // rename a whole file into place, and the last one wins.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = path.with_extension(format!("toml.{}.{n}.tmp", std::process::id()));
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_file_reads_back_and_a_bad_one_names_its_fault() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("key.hex"),
            "00112233445566778899aabbccddeeff",
        )
        .unwrap_or_default();
        let path = dir.path().join(FILE_NAME);
        write(&path, &for_sandbox("http://127.0.0.1:9", "key.hex")).unwrap_or_default();
        let read = load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(read.cities.len(), Catalogue::builtin().cities().len());
        assert_eq!(read.cities[0].key.len(), 16);
        assert_eq!(read.bank_url, "http://127.0.0.1:9");
        let beijing = &read.cities[0].city;
        assert_eq!(
            (beijing.name_zh.as_str(), beijing.plate_prefixes.as_slice()),
            ("北京", ["京".to_string()].as_slice())
        );

        std::fs::write(
            &path,
            "[bank]\nbase_url = \"http://x\"\n[[city]]\ncode = 110000\n",
        )
        .unwrap_or_default();
        let e = format!(
            "{:#}",
            load(&path).err().unwrap_or_else(|| anyhow::anyhow!(""))
        );
        assert!(e.contains("line 4"), "{e}");
        std::fs::write(&path, "[bank]\nbase_url = \"ftp://x\"\n").unwrap_or_default();
        let e = format!(
            "{:#}",
            load(&path).err().unwrap_or_else(|| anyhow::anyhow!(""))
        );
        assert!(e.contains("city") || e.contains("ftp"), "{e}");
    }
}
