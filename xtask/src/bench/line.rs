//! One line of the bench's tables of figures: what was measured, the figure, and the command
//! that measures it again.

/// One measured number and how to get it again.
#[derive(Default)]
pub(crate) struct Line {
    pub what: String,
    /// Measured with the edge in plain workerd (or with no edge involved).
    pub value: String,
    /// The same under `wrangler dev` (empty: not applicable).
    pub dev: String,
    pub how: String,
    /// The target for this number, said met or missed (empty: none).
    pub target: String,
}
