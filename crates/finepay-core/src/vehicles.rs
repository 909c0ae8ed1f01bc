//! Binding a plate to the user's account (checked with the authority that registers it), so every
//! new violation of that plate, in every city, is pushed to the user.

use crate::ratelimit::RateLimiter;
use crate::{Authorities, CoreError};
use finepay_authority::AuthorityError;
use finepay_domain::Plate;
use finepay_store::repo::vehicles;
use finepay_store::Db;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VehicleView {
    pub plate: String,
    pub bound_at: String,
}

/// Plates bound to an account (the registering authority checks the VIN first).
#[derive(Clone)]
pub struct Vehicles {
    db: Db,
    authorities: Arc<Authorities>,
    /// Binding answers whether a VIN matches a plate: guesses are limited like lookups.
    limiter: Arc<RateLimiter>,
}

impl Vehicles {
    pub(crate) fn new(
        db: Db,
        authorities: Arc<Authorities>,
        limiter: Arc<RateLimiter>,
    ) -> Vehicles {
        Vehicles {
            db,
            authorities,
            limiter,
        }
    }

    /// Binds a plate after its registering authority confirms the VIN's last six characters.
    pub async fn bind(
        &self,
        user_id: &str,
        client: &str,
        plate: &Plate,
        vin_last6: &str,
    ) -> Result<VehicleView, CoreError> {
        let vin_last6 = vin_last6.trim().to_uppercase();
        if vin_last6.len() != 6 || !vin_last6.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CoreError::invalid(
                "vin_last6",
                "enter the last 6 characters of the vehicle identification number (VIN) on the registration certificate",
            ));
        }
        let city = self.authorities
            .city_of_plate(plate.as_str())
            .ok_or_else(|| {
                CoreError::VehicleVerificationFailed(format!(
                    "no traffic authority on finepay keeps the register for plates like {}; bind it when its city joins",
                    plate.masked()
                ))
            })?;
        let route = self
            .authorities
            .for_city(city.code.as_str())
            .ok_or(CoreError::AuthorityUnavailable)?;
        self.limiter.admit(user_id, client)?;
        match route
            .client
            .verify_vehicle(plate.as_str(), &vin_last6)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                self.limiter.charge_failure(user_id, client);
                return Err(CoreError::VehicleVerificationFailed(
                    "the plate and the last 6 characters of the VIN do not match the vehicle register; check both on the registration certificate".into(),
                ));
            }
            Err(AuthorityError::NotFound) => {
                self.limiter.charge_failure(user_id, client);
                return Err(CoreError::VehicleVerificationFailed(
                    "this plate is not in the vehicle register".into(),
                ));
            }
            Err(_) => return Err(CoreError::AuthorityUnavailable),
        }
        let (uid, p) = (user_id.to_string(), plate.as_str().to_string());
        let now = self.db.clock().now_text();
        let today = self.db.clock().today_in_china();
        let bound_at = self
            .db
            .writer()
            .run(move |c| -> Result<String, CoreError> {
                let bound_at = vehicles::bind(c, &uid, &p, &now)?;
                // Decisions of the plate issued before it was bound are reminded of at once too.
                crate::reminders::on_bind(c, &p, today, &now)?;
                Ok(bound_at)
            })
            .await??;
        Ok(VehicleView {
            plate: plate.as_str().to_string(),
            bound_at,
        })
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<VehicleView>, CoreError> {
        let uid = user_id.to_string();
        let rows = self.db.read(move |c| vehicles::list(c, &uid)).await?;
        Ok(rows
            .into_iter()
            .map(|(plate, bound_at)| VehicleView { plate, bound_at })
            .collect())
    }

    pub async fn unbind(&self, user_id: &str, plate: &str) -> Result<(), CoreError> {
        let plate = Plate::parse(plate).map_err(|e| CoreError::InvalidPlate(e.to_string()))?;
        let (uid, p) = (user_id.to_string(), plate.as_str().to_string());
        let removed = self
            .db
            .writer()
            .run(move |c| vehicles::unbind(c, &uid, &p))
            .await??;
        if removed {
            Ok(())
        } else {
            Err(CoreError::NotFound(
                "this plate is not bound to your account",
            ))
        }
    }
}
