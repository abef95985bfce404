//! Panics: logged, and still answered with problem+json.
//!
//! A Wasm Worker cannot catch a panic (`panic = "abort"`: the instance traps, and worker-build's
//! shim starts a fresh instance for the next request), and the request that panicked would
//! otherwise never settle: workerd cancels it as "hung" with a plain-text 500. So every request
//! is answered through a promise the edge resolves itself, registered here, and the panic hook,
//! which runs just before the trap, resolves every outstanding one with a problem+json 500
//! (the trap takes all of this instance's in-flight requests down with it).
//!
//! The code is written not to panic (clippy's `unwrap_used`, no unchecked indexing, `cf` read
//! defensively); this is the net under that.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;

use wasm_bindgen::JsValue;

use crate::error::EdgeError;
use crate::respond;

thread_local! {
    /// The `resolve` function and request id of every request in flight in this instance.
    static PENDING: RefCell<BTreeMap<u64, (js_sys::Function, String)>> =
        const { RefCell::new(BTreeMap::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

/// Installs the panic hook: log the panic (message and location), then answer every request
/// in flight.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let pending = PENDING.with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut *p)));
        for (resolve, request_id) in pending.unwrap_or_default().into_values() {
            let problem = respond::problem(&EdgeError::Internal("panic".into()), &request_id, None);
            if let Ok(mut response) = problem {
                let _ = response
                    .headers_mut()
                    .set(roam_shared::headers::REQUEST_ID, &request_id);
                if let Ok(response) = response.into_js() {
                    let _ = resolve.call1(&JsValue::UNDEFINED, &response);
                }
            }
        }
    }));
}

/// Runs a request's handler and returns the promise workerd awaits, resolved with the
/// handler's response, or by the panic hook if the handler panics.
pub fn answer<F>(request_id: &str, handler: F) -> js_sys::Promise
where
    F: Future<Output = JsValue> + 'static,
{
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    });
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        PENDING.with(|p| p.borrow_mut().insert(id, (resolve, request_id.to_string())));
    });
    wasm_bindgen_futures::spawn_local(async move {
        let response = handler.await;
        if let Some((resolve, _)) = PENDING.with(|p| p.borrow_mut().remove(&id)) {
            let _ = resolve.call1(&JsValue::UNDEFINED, &response);
        }
    });
    promise
}
