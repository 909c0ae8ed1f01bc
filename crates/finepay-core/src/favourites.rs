//! Bookmarked services (the web app's favourites, pinned on its home page).

use crate::services::{self, ServiceView};
use crate::CoreError;
use finepay_store::repo::favourites;
use finepay_store::Db;

/// The services a user bookmarked.
#[derive(Clone)]
pub struct Favourites {
    db: Db,
}

impl Favourites {
    pub(crate) fn new(db: Db) -> Favourites {
        Favourites { db }
    }

    /// The user's bookmarked services, in the order they were bookmarked.
    pub async fn list(&self, user_id: &str) -> Result<Vec<ServiceView>, CoreError> {
        let uid = user_id.to_string();
        let ids = self.db.read(move |c| favourites::list(c, &uid)).await?;
        // A service withdrawn from the catalogue simply stops showing.
        Ok(ids.iter().filter_map(|id| services::find(id)).collect())
    }

    /// Bookmarks a service of the catalogue.
    pub async fn add(&self, user_id: &str, service_id: &str) -> Result<(), CoreError> {
        let service = services::find(service_id)
            .ok_or(CoreError::NotFound("no such service in the catalogue"))?;
        let uid = user_id.to_string();
        let now = self.db.clock().now_text();
        self.db
            .writer()
            .run(move |c| favourites::add(c, &uid, &service.id, &now))
            .await??;
        Ok(())
    }

    /// Removes a bookmark (removing one that is not there changes nothing).
    pub async fn remove(&self, user_id: &str, service_id: &str) -> Result<(), CoreError> {
        let (uid, sid) = (user_id.to_string(), service_id.to_string());
        self.db
            .writer()
            .run(move |c| favourites::remove(c, &uid, &sid))
            .await??;
        Ok(())
    }
}
