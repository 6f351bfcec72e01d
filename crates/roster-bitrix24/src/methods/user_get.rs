//! `user.get` and `user.search` (spec 2.1-2.2): filter with prefixes, quick search,
//! `sort`/`order`, `select`, `ADMIN_MODE`, pages of 50 by `start` (-1: no count).

use roster_core::UserQuery;

use super::Call;
use crate::envelope::Reply;
use crate::error::BxError;
use crate::fields::Flavor;
use crate::filter;
use crate::input::{int_of, truthy, Params};

pub const PAGE: u64 = 50;

pub async fn run(call: &Call<'_>, params: Params, search: bool) -> Result<Reply, BxError> {
    let vis = call.visibility();
    let custom = call.custom_fields().await?;
    // Only the lower-case key is read, before any case folding, as on a portal.
    let start = params.0.get("start").and_then(int_of).unwrap_or(0);
    let (offset, count_total) = if start == -1 { (0, false) } else { (start.max(0) as u64, true) };
    let wanted = filter::filter(&params, vis, search, &custom);
    filter::check_size(&wanted)?;
    let query = UserQuery { filter: wanted, order: filter::order(&params), offset, limit: PAGE, count_total };
    let admin_mode = params.get("ADMIN_MODE").is_some_and(|v| truthy(&v));
    let page = call.bx.dir.find_users(call.actor, query, admin_mode).await?;
    let codes = filter::select(&params, vis);
    let chosen = filter::select_custom(&params, &custom);
    let items = call.users_json(&page.items, &codes, &chosen, Flavor::List).await?;
    let etag = match page.items.as_slice() {
        [one] => Some(one.version),
        _ => None,
    };
    // `start=-1` skips the count: a portal then answers `total: 0` and no `next`.
    Ok(Reply { etag, ..Reply::page(items, offset, Some(page.total.unwrap_or(0))) })
}
