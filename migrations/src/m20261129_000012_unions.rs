//! Unions and budget units (消费帮扶): organisations, their admins and invite codes, a member's
//! tie (a `memberships` row of kind ORGANISATION, now naming its organisation), and yearly
//! pledges. Orders already carry `union_id`: the organisation an order is credited to.

use sea_orm_migration::prelude::*;

use crate::sql::{Types, execute, types};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Types { id, big, timestamp, .. } = types(manager);
        execute(
            manager,
            &format!(
                "CREATE TABLE organisations (
                    id {id},
                    name varchar(100) NOT NULL,
                    kind varchar(16) NOT NULL CHECK (kind IN ('UNION', 'BUDGET_UNIT')),
                    invoice_title varchar(200) NULL,
                    tax_number varchar(30) NULL,
                    allowance_cap_per_member_fen {big} NULL CHECK (allowance_cap_per_member_fen >= 0),
                    fund_fen {big} NOT NULL DEFAULT 0 CHECK (fund_fen >= 0),
                    created_at {timestamp} NOT NULL
                )"
            ),
        )
        .await?;
        // An admin administers one organisation: `myOrganisation` is then never ambiguous.
        execute(
            manager,
            &format!(
                "CREATE TABLE organisation_admins (
                    id {id},
                    organisation_id {big} NOT NULL REFERENCES organisations (id),
                    user_id {big} NOT NULL UNIQUE REFERENCES users (id),
                    created_at {timestamp} NOT NULL
                )"
            ),
        )
        .await?;
        // A code admits one member: a code that leaks admits nobody else.
        execute(
            manager,
            &format!(
                "CREATE TABLE organisation_invites (
                    id {id},
                    organisation_id {big} NOT NULL REFERENCES organisations (id),
                    code varchar(32) NOT NULL UNIQUE,
                    created_by {big} NOT NULL REFERENCES users (id),
                    created_at {timestamp} NOT NULL,
                    used_by {big} NULL REFERENCES users (id),
                    used_at {timestamp} NULL,
                    CHECK ((used_by IS NULL) = (used_at IS NULL))
                )"
            ),
        )
        .await?;
        execute(
            manager,
            &format!(
                "ALTER TABLE memberships ADD COLUMN organisation_id {big} NULL REFERENCES organisations (id) \
                 CHECK ((kind = 'ORGANISATION') = (organisation_id IS NOT NULL))"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_memberships_organisation ON memberships (organisation_id, ended_at)",
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE pledges (
                    id {id},
                    organisation_id {big} NOT NULL REFERENCES organisations (id),
                    year integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
                    amount_fen {big} NOT NULL CHECK (amount_fen > 0),
                    updated_at {timestamp} NOT NULL,
                    UNIQUE (organisation_id, year)
                )"
            ),
        )
        .await?;
        execute(manager, "CREATE INDEX idx_orders_union ON orders (union_id, paid_at)").await?;
        // A grant's balance moves only by conditional updates; the CHECK holds it between zero
        // and what was granted whatever the code does.
        execute(
            manager,
            &format!(
                "CREATE TABLE allowance_grants (
                    id {id},
                    organisation_id {big} NOT NULL REFERENCES organisations (id),
                    membership_id {big} NOT NULL REFERENCES memberships (id),
                    amount_fen {big} NOT NULL CHECK (amount_fen > 0),
                    balance_fen {big} NOT NULL CHECK (balance_fen >= 0 AND balance_fen <= amount_fen),
                    occasion varchar(100) NOT NULL,
                    expires_at {timestamp} NOT NULL,
                    granted_by {big} NOT NULL REFERENCES users (id),
                    created_at {timestamp} NOT NULL,
                    closed_at {timestamp} NULL
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_allowance_grants_membership ON allowance_grants (membership_id, expires_at)",
        )
        .await?;
        // The one append-only ledger of an organisation's money: each row moves the fund and/or
        // a grant, so the fund is the sum of its fund deltas and each grant's balance the sum of
        // its grant deltas, to the fen. Each kind moves money one way only.
        execute(
            manager,
            &format!(
                "CREATE TABLE organisation_ledger (
                    id {id},
                    organisation_id {big} NOT NULL REFERENCES organisations (id),
                    kind varchar(16) NOT NULL,
                    fund_delta_fen {big} NOT NULL,
                    grant_delta_fen {big} NOT NULL,
                    grant_id {big} NULL REFERENCES allowance_grants (id),
                    reference varchar(100) NULL,
                    created_by {big} NULL REFERENCES users (id),
                    created_at {timestamp} NOT NULL,
                    CHECK ((kind = 'DEPOSIT' AND fund_delta_fen > 0 AND grant_delta_fen = 0 AND grant_id IS NULL
                            AND reference IS NOT NULL)
                        OR (kind = 'GRANT' AND fund_delta_fen < 0 AND grant_delta_fen = -fund_delta_fen
                            AND grant_id IS NOT NULL)
                        OR (kind = 'RETURN' AND fund_delta_fen > 0 AND grant_delta_fen = -fund_delta_fen
                            AND grant_id IS NOT NULL))
                )"
            ),
        )
        .await?;
        // A bank transfer is recorded once.
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_organisation_deposits ON organisation_ledger (organisation_id, reference) \
             WHERE kind = 'DEPOSIT'",
        )
        .await?;
        Ok(())
    }
}
