//! AWS Organizations: the active accounts of the organisation, or of some of its OUs.

use std::collections::BTreeSet;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{Account, AccountStatus, ChildType};

use crate::aws::{AwsError, AwsResultExt};

/// Active accounts: all of them, or those under `parents` (OU or root ids), nested OUs included.
pub async fn active_accounts(
    client: &Client,
    parents: &[String],
) -> Result<BTreeSet<String>, AwsError> {
    if parents.is_empty() {
        let mut pages = client.list_accounts().into_paginator().send();
        let mut accounts = BTreeSet::new();
        while let Some(page) = pages.next().await {
            let page = page.aws("ListAccounts")?;
            accounts.extend(page.accounts.unwrap_or_default().iter().filter_map(active));
        }
        return Ok(accounts);
    }
    let mut accounts = BTreeSet::new();
    let mut pending: Vec<String> = parents.to_vec();
    let mut seen = BTreeSet::new();
    while let Some(parent) = pending.pop() {
        if !seen.insert(parent.clone()) {
            continue;
        }
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.aws("ListAccountsForParent")?;
            accounts.extend(page.accounts.unwrap_or_default().iter().filter_map(active));
        }
        let mut children = client
            .list_children()
            .parent_id(&parent)
            .child_type(ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = children.next().await {
            let page = page.aws("ListChildren")?;
            pending.extend(
                page.children
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.id),
            );
        }
    }
    Ok(accounts)
}

/// Suspended and closing accounts cannot be acted in.
#[allow(deprecated)] // `status` is what the emulator and older organisations report
fn active(account: &Account) -> Option<String> {
    let active = account
        .status
        .as_ref()
        .is_none_or(|s| *s == AccountStatus::Active);
    active.then(|| account.id.clone()).flatten()
}
