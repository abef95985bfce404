//! Request and response bodies of every route, with the validation both sides apply.
//!
//! Field names are the JSON names and MovR's column names. Request types reject unknown
//! fields, so a typo is a 422 rather than a silently ignored value.

mod edge;
mod rides;
mod users;
mod validate;
mod vehicles;

pub use edge::{
    CityList, JobBacklog, OriginHealth, Pong, RegionHealth, RegionList, RegionPing, RegionReport,
    StandbyReport,
};
pub use rides::{EndRide, Ride, RideList, StartRide};
pub use users::{LogIn, Session, SignUp, User};
pub use validate::{
    validate_email, validate_text, FieldError, EMAIL_MAX, LABEL_MAX_CHARS, LOCATION_CHARS,
    NAME_CHARS, PASSWORD_CHARS,
};
pub use vehicles::{
    NewVehicle, PageCursor, Vehicle, VehicleList, VehicleStatus, VehicleType, VEHICLE_PAGE_DEFAULT,
    VEHICLE_PAGE_MAX,
};

#[cfg(test)]
mod tests;
