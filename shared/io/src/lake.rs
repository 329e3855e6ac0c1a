//! The lake's layout: one root per layer (landing, bronze, silver, gold, quarantine, and the
//! pipeline's own state), each a folder or an object-store prefix, reached through object_store
//! so that a local folder and S3 share every code path.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result};

/// A layer of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Landing,
    Bronze,
    Silver,
    Gold,
    Quarantine,
    /// The pipeline's own bookkeeping (extraction cursors).
    State,
}

impl Layer {
    pub const ALL: [Layer; 6] = [
        Layer::Landing,
        Layer::Bronze,
        Layer::Silver,
        Layer::Gold,
        Layer::Quarantine,
        Layer::State,
    ];

    /// The layers that hold Delta tables.
    pub const TABLES: [Layer; 4] = [Layer::Bronze, Layer::Silver, Layer::Gold, Layer::Quarantine];

    /// The layer's folder name under the lake root, and its schema name in queries.
    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Layer::Landing => "landing",
            Layer::Bronze => "bronze",
            Layer::Silver => "silver",
            Layer::Gold => "gold",
            Layer::Quarantine => "quarantine",
            Layer::State => "_state",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where each layer lives.
#[derive(Clone)]
pub struct Lake {
    location: String,
    /// Indexed by [`Layer::index`], in the order of [`Layer::ALL`].
    roots: Vec<LayerRoot>,
}

/// One layer's root: its URL, and the object store and path prefix that reach it.
#[derive(Clone)]
struct LayerRoot {
    url: Url,
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl fmt::Debug for Lake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lake({})", self.location)
    }
}

impl fmt::Display for Lake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location)
    }
}

impl Lake {
    /// A lake at `location`: a local folder (created if missing), a `file://` URL or an
    /// `s3://bucket/prefix` URL, with every layer in a folder of the same name beneath it.
    /// S3 is reached with the usual AWS environment (`AWS_REGION`, credentials, and
    /// `AWS_ENDPOINT_URL` for an S3-compatible endpoint).
    pub fn open(location: &str) -> Result<Self> {
        let root = root_url(location)?;
        let roots = Layer::ALL
            .iter()
            .map(|&layer| {
                let url = root.join(&format!("{}/", layer.name())).map_err(|e| Error::Lake {
                    location: location.to_owned(),
                    reason: e.to_string(),
                })?;
                LayerRoot::new(location, url)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            location: location.to_owned(),
            roots,
        })
    }

    /// Like [`Lake::open`], then moves each layer named by `LAKEHOUSE_<LAYER>_ROOT` (e.g.
    /// `LAKEHOUSE_LANDING_ROOT=s3://raw-bucket/landing`) to its own place.
    pub fn from_env(location: &str) -> Result<Self> {
        let mut lake = Self::open(location)?;
        for layer in Layer::ALL {
            let variable = format!("LAKEHOUSE_{}_ROOT", layer.name().trim_start_matches('_').to_uppercase());
            if let Ok(root) = std::env::var(&variable) {
                lake = lake.with_layer_root(layer, &root).map_err(|e| Error::Lake {
                    location: variable,
                    reason: e.to_string(),
                })?;
            }
        }
        Ok(lake)
    }

    /// Puts `layer` at `location` instead of under the lake root.
    pub fn with_layer_root(mut self, layer: Layer, location: &str) -> Result<Self> {
        self.roots[layer.index()] = LayerRoot::new(location, root_url(location)?)?;
        Ok(self)
    }

    /// Options for delta-rs to reach tables in this lake (only an S3-compatible endpoint's
    /// plain-HTTP permission; everything else comes from the AWS environment).
    pub fn storage_options(&self) -> HashMap<String, String> {
        let mut options = HashMap::new();
        if endpoint_is_plain_http() {
            options.insert("AWS_ALLOW_HTTP".to_owned(), "true".to_owned());
        }
        options
    }

    fn root(&self, layer: Layer) -> &LayerRoot {
        &self.roots[layer.index()]
    }

    /// The URL of the Delta table `name` in `layer`.
    pub fn table_url(&self, layer: Layer, name: &str) -> Result<Url> {
        let url = self
            .root(layer)
            .url
            .join(&format!("{name}/"))
            .map_err(|e| Error::Lake {
                location: self.location.clone(),
                reason: e.to_string(),
            })?;
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| Error::Lake {
                location: self.location.clone(),
                reason: format!("{url} is not a local path"),
            })?;
            std::fs::create_dir_all(&path).map_err(|e| Error::Lake {
                location: self.location.clone(),
                reason: format!("cannot create {}: {e}", path.display()),
            })?;
        }
        Ok(url)
    }

    /// The object store holding `layer`, and the layer's path prefix in it.
    pub fn store(&self, layer: Layer) -> (Arc<dyn ObjectStore>, Path) {
        let root = self.root(layer);
        (root.store.clone(), root.prefix.clone())
    }

    /// The full object path of `relative` (e.g. `orders/x.parquet`) inside `layer`. The key is
    /// taken as it is, so that `orders/a b é.parquet` names exactly that object, as S3 and its
    /// notifications do; a part object_store cannot take raw (a control character, `..`) is
    /// percent-encoded instead.
    pub fn path(&self, layer: Layer, relative: &str) -> Path {
        let prefix = &self.root(layer).prefix;
        relative
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(prefix.clone(), |path, part| {
                match Path::parse(format!("{}/{part}", path.as_ref())) {
                    Ok(raw) => raw,
                    Err(_) => path.join(part),
                }
            })
    }

    /// `path` relative to `layer`'s root, if it lies inside it.
    pub fn relative(&self, layer: Layer, path: &Path) -> Option<String> {
        let parts: Vec<_> = path
            .prefix_match(&self.root(layer).prefix)?
            .map(|p| p.as_ref().to_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// The path relative to `layer`'s root of the object `key` in `bucket`, if the layer is on
    /// S3 and the object lies inside it (how a notification's object is placed in the lake).
    pub fn relative_object(&self, layer: Layer, bucket: &str, key: &str) -> Option<String> {
        let root = &self.root(layer).url;
        if !matches!(root.scheme(), "s3" | "s3a") || root.host_str() != Some(bucket) {
            return None;
        }
        self.relative(layer, &Path::parse(key).ok()?)
    }

    /// An object's metadata; `None` if there is no such object.
    pub async fn head(&self, layer: Layer, relative: &str) -> Result<Option<object_store::ObjectMeta>> {
        let (store, _) = self.store(layer);
        let path = self.path(layer, relative);
        match store.head(&path).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::object(&path)(e)),
        }
    }

    /// Every object under `relative_dir` in `layer` whose name ends with `suffix`, sorted by path.
    pub async fn list(&self, layer: Layer, relative_dir: &str, suffix: &str) -> Result<Vec<object_store::ObjectMeta>> {
        let (store, _) = self.store(layer);
        let dir = self.path(layer, relative_dir);
        let mut found: Vec<_> = store
            .list(Some(&dir))
            .try_filter(|meta| futures::future::ready(meta.location.as_ref().ends_with(suffix)))
            .try_collect()
            .await
            .or_else(|e| match e {
                object_store::Error::NotFound { .. } => Ok(Vec::new()),
                e => Err(e),
            })
            .map_err(Error::object(&dir))?;
        found.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(found)
    }

    /// The Delta tables present in `layer`, by name.
    pub async fn tables(&self, layer: Layer) -> Result<Vec<String>> {
        let (store, prefix) = self.store(layer);
        let listing = match store.list_with_delimiter(Some(&prefix)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(Error::object(&prefix)(e)),
        };
        let mut tables = Vec::new();
        for dir in listing.common_prefixes {
            let log = dir.clone().join("_delta_log");
            let has_log = store
                .list_with_delimiter(Some(&log))
                .await
                .map(|l| !l.objects.is_empty())
                .unwrap_or(false);
            if let (true, Some(name)) = (has_log, dir.filename()) {
                tables.push(name.to_owned());
            }
        }
        tables.sort();
        Ok(tables)
    }

    /// Writes `value` as JSON to `relative` in `layer`, replacing what was there.
    pub async fn put_json<T: Serialize>(&self, layer: Layer, relative: &str, value: &T) -> Result<()> {
        let body = serde_json::to_vec_pretty(value).map_err(|e| Error::State {
            path: relative.to_owned(),
            reason: e.to_string(),
        })?;
        self.put(layer, relative, Bytes::from(body)).await
    }

    /// Reads JSON from `relative` in `layer`; `None` if there is no such object.
    pub async fn get_json<T: DeserializeOwned>(&self, layer: Layer, relative: &str) -> Result<Option<T>> {
        let Some(bytes) = self.get(layer, relative).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::State {
            path: self.path(layer, relative).to_string(),
            reason: e.to_string(),
        })
    }

    /// Writes an object atomically (readers see all of it or none).
    pub async fn put(&self, layer: Layer, relative: &str, bytes: Bytes) -> Result<()> {
        let (store, _) = self.store(layer);
        let path = self.path(layer, relative);
        store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map(drop)
            .map_err(Error::object(&path))
    }

    /// Deletes an object; deleting one that is not there is fine.
    pub async fn delete(&self, layer: Layer, relative: &str) -> Result<()> {
        let (store, _) = self.store(layer);
        let path = self.path(layer, relative);
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::object(&path)(e)),
        }
    }

    /// Reads an object; `None` if there is no such object.
    pub async fn get(&self, layer: Layer, relative: &str) -> Result<Option<Bytes>> {
        let (store, _) = self.store(layer);
        let path = self.path(layer, relative);
        match store.get(&path).await {
            Ok(result) => result.bytes().await.map(Some).map_err(Error::object(&path)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::object(&path)(e)),
        }
    }
}

impl LayerRoot {
    fn new(location: &str, url: Url) -> Result<Self> {
        let fail = |e: object_store::Error| Error::Lake {
            location: location.to_owned(),
            reason: e.to_string(),
        };
        let (store, prefix): (Arc<dyn ObjectStore>, Path) = match url.scheme() {
            "s3" | "s3a" => {
                let store = AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_allow_http(endpoint_is_plain_http())
                    .build()
                    .map_err(fail)?;
                (Arc::new(store), Path::from(url.path()))
            }
            _ => {
                let (store, prefix) = object_store::parse_url(&url).map_err(fail)?;
                (Arc::from(store), prefix)
            }
        };
        Ok(Self { url, store, prefix })
    }
}

/// Whether `AWS_ENDPOINT_URL` points at a plain-HTTP endpoint (a local S3 stand-in).
fn endpoint_is_plain_http() -> bool {
    std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| e.starts_with("http://"))
}

/// The lake root as a URL ending in `/`. A plain path becomes an absolute `file://` URL, and a
/// local folder is created so that a first run needs no set-up.
fn root_url(location: &str) -> Result<Url> {
    let fail = |reason: String| Error::Lake {
        location: location.to_owned(),
        reason,
    };
    let url = match Url::parse(location) {
        Ok(url) if url.scheme().len() > 1 => url,
        _ => {
            let path = std::path::absolute(location).map_err(|e| fail(e.to_string()))?;
            Url::from_directory_path(&path).map_err(|()| fail("not an absolute path".into()))?
        }
    };
    match url.scheme() {
        "file" => {
            let path = url.to_file_path().map_err(|()| fail("not a local path".into()))?;
            std::fs::create_dir_all(&path).map_err(|e| fail(format!("cannot create the folder: {e}")))?;
            probe_writable(&path).map_err(|e| fail(format!("not writable: {e}")))?;
        }
        "s3" | "s3a" if url.host_str().is_some_and(|h| !h.is_empty()) => {
            // delta-rs reaches S3 through handlers registered by scheme; registering is idempotent.
            deltalake::aws::register_handlers(None);
        }
        other => {
            return Err(fail(format!(
                "unsupported location {other}:// (use a folder, file:// or s3://bucket/prefix)"
            )));
        }
    }
    let mut url = url;
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

fn probe_writable(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn layers_sit_under_the_root_and_json_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let url = lake.table_url(Layer::Silver, "orders").unwrap();
        assert!(url.as_str().ends_with("/silver/orders/"), "{url}");
        assert!(dir.path().join("silver/orders").is_dir());

        lake.put_json(Layer::State, "extract/orders.json", &vec![1, 2])
            .await
            .unwrap();
        let back: Option<Vec<i32>> = lake.get_json(Layer::State, "extract/orders.json").await.unwrap();
        assert_eq!(back, Some(vec![1, 2]));
        let missing: Option<Vec<i32>> = lake.get_json(Layer::State, "extract/none.json").await.unwrap();
        assert_eq!(missing, None);

        lake.put(Layer::Landing, "orders/a.parquet", Bytes::from_static(b"x"))
            .await
            .unwrap();
        lake.put(Layer::Landing, "orders/b.txt", Bytes::from_static(b"x"))
            .await
            .unwrap();
        let listed = lake.list(Layer::Landing, "orders", ".parquet").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            lake.relative(Layer::Landing, &listed[0].location).as_deref(),
            Some("orders/a.parquet")
        );
        assert!(
            lake.list(Layer::Landing, "customers", ".parquet")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_unusable_location_is_named() {
        let err = Lake::open("ftp://example.com/lake").unwrap_err().to_string();
        assert!(
            err.starts_with("lake ftp://example.com/lake: unsupported location"),
            "{err}"
        );
        let err = Lake::open("/proc/no-such-lake").unwrap_err().to_string();
        assert!(err.contains("/proc/no-such-lake"), "{err}");
    }

    #[tokio::test]
    async fn keys_with_spaces_accents_and_percent_signs_are_kept_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        lake.put(
            Layer::Landing,
            "orders/airbyte sync/a été%.parquet",
            Bytes::from_static(b"x"),
        )
        .await
        .unwrap();
        let listed = lake.list(Layer::Landing, "orders", ".parquet").await.unwrap();
        let relative = lake.relative(Layer::Landing, &listed[0].location).unwrap();
        assert_eq!(
            relative, "orders/airbyte sync/a été%.parquet",
            "the key is stored as it is"
        );
        assert!(lake.head(Layer::Landing, &relative).await.unwrap().is_some());
        assert!(dir.path().join("landing/orders/airbyte sync/a été%.parquet").is_file());
    }
}
