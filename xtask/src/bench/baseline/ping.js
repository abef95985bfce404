// The baseline for the edge's /ping: the same answer, in plain JavaScript (baselines.rs
// writes the region map in).
const REGIONS = __REGIONS__;
const rad = (d) => (d * Math.PI) / 180;
function km(aLat, aLon, bLat, bLon) {
  const h = Math.sin(rad(bLat - aLat) / 2) ** 2 +
    Math.cos(rad(aLat)) * Math.cos(rad(bLat)) * Math.sin(rad(bLon - aLon) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}
export default {
  fetch(request) {
    const cf = request.cf || {};
    const lat = Number(cf.latitude), lon = Number(cf.longitude);
    let region = REGIONS[0].name;
    if (Number.isFinite(lat) && Number.isFinite(lon)) {
      region = REGIONS.reduce((best, r) =>
        km(lat, lon, r.lat, r.lon) < km(lat, lon, best.lat, best.lon) ? r : best).name;
    }
    const body = { pong: true, colo: cf.colo || "", country: cf.country || "", city: cf.city || "", region };
    return new Response(JSON.stringify(body), {
      headers: { "content-type": "application/json", "cache-control": "no-store",
        "x-request-id": crypto.randomUUID(), "x-roam-served-by": "edge" },
    });
  },
};
