//! Every code the API answers with, in `userErrors` and in GraphQL errors' `extensions.code`:
//! one enum, so a code is never mistyped in the code and clients can switch on it (`ErrorCode`
//! in the schema). `UserError.code` stays the contract's string; `UserError.errorCode` is the
//! same value as this enum.

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $code:literal,)*) => {
        /// A stable code a client can branch on; its words are `code-…` in the catalogues.
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* #[graphql(name = $code)] $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as clients see it: `OUT_OF_STOCK`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    /// Accepted already.
    AlreadyAccepted => "ALREADY_ACCEPTED",
    /// The user administers another organisation.
    AlreadyAdmin => "ALREADY_ADMIN",
    /// Already a member of an organisation.
    AlreadyMember => "ALREADY_MEMBER",
    /// The request is malformed.
    BadRequest => "BAD_REQUEST",
    /// An argument is not valid.
    BadUserInput => "BAD_USER_INPUT",
    /// Over the yearly allowance cap.
    CapExceeded => "CAP_EXCEEDED",
    /// The claim is decided already.
    ClaimClosed => "CLAIM_CLOSED",
    /// A claim is open already.
    ClaimExists => "CLAIM_EXISTS",
    /// The claim window has passed.
    ClaimWindowClosed => "CLAIM_WINDOW_CLOSED",
    /// The commission rate is too high.
    CommissionTooHigh => "COMMISSION_TOO_HIGH",
    /// This reference is recorded already.
    DuplicateReference => "DUPLICATE_REFERENCE",
    /// The email is taken.
    EmailTaken => "EMAIL_TAKEN",
    /// Not allowed.
    Forbidden => "FORBIDDEN",
    /// The allowance does not cover this.
    InsufficientAllowance => "INSUFFICIENT_ALLOWANCE",
    /// The fund does not hold enough.
    InsufficientFunds => "INSUFFICIENT_FUNDS",
    /// Something went wrong on our side.
    InternalServerError => "INTERNAL_SERVER_ERROR",
    /// The code is not valid.
    InvalidCode => "INVALID_CODE",
    /// Wrong credentials.
    InvalidCredentials => "INVALID_CREDENTIALS",
    /// The CSV file cannot be read.
    InvalidCsv => "INVALID_CSV",
    /// The file is not a picture the shop accepts.
    InvalidImage => "INVALID_IMAGE",
    /// A field is not valid.
    InvalidInput => "INVALID_INPUT",
    /// The quantity is not allowed.
    InvalidQuantity => "INVALID_QUANTITY",
    /// Not allowed with this HTTP method.
    MethodNotAllowed => "METHOD_NOT_ALLOWED",
    /// The order cannot be cancelled.
    NotCancellable => "NOT_CANCELLABLE",
    /// The payout cannot be confirmed.
    NotConfirmable => "NOT_CONFIRMABLE",
    /// The order cannot be delivered: not to that province, or not now.
    NotDeliverable => "NOT_DELIVERABLE",
    /// Not eligible for this payment method.
    NotEligible => "NOT_ELIGIBLE",
    /// The claim cannot be escalated.
    NotEscalatable => "NOT_ESCALATABLE",
    /// Not found.
    NotFound => "NOT_FOUND",
    /// Not on sale.
    NotOnSale => "NOT_ON_SALE",
    /// The order cannot be paid this way.
    NotPayable => "NOT_PAYABLE",
    /// Nothing is waiting here.
    NotPending => "NOT_PENDING",
    /// Nothing can be refunded.
    NotRefundable => "NOT_REFUNDABLE",
    /// Nothing can be sent again.
    NotReshippable => "NOT_RESHIPPABLE",
    /// The order cannot be shipped.
    NotShippable => "NOT_SHIPPABLE",
    /// Not shipped yet.
    NotShipped => "NOT_SHIPPED",
    /// Out of stock.
    OutOfStock => "OUT_OF_STOCK",
    /// The server is busy.
    Overloaded => "OVERLOADED",
    /// The request is too large.
    PayloadTooLarge => "PAYLOAD_TOO_LARGE",
    /// Online payment is unavailable.
    PaymentsUnavailable => "PAYMENTS_UNAVAILABLE",
    /// The persisted query is unknown.
    PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
    /// The purchase limit is reached.
    PurchaseLimitReached => "PURCHASE_LIMIT_REACHED",
    /// The query costs more than the limit.
    QueryTooComplex => "QUERY_TOO_COMPLEX",
    /// The query is nested deeper than the limit.
    QueryTooDeep => "QUERY_TOO_DEEP",
    /// The session's quota is sold out.
    QuotaExhausted => "QUOTA_EXHAUSTED",
    /// Too many requests; wait a little.
    RateLimited => "RATE_LIMITED",
    /// The refund was refused.
    RefundFailed => "REFUND_FAILED",
    /// The live session is not on.
    SessionNotLive => "SESSION_NOT_LIVE",
    /// Only one password check per request.
    TooManyCredentialFields => "TOO_MANY_CREDENTIAL_FIELDS",
    /// A claim carries at most 6 photos.
    TooManyPhotos => "TOO_MANY_PHOTOS",
    /// Sign in first.
    Unauthenticated => "UNAUTHENTICATED",
    /// Send JSON.
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
    /// The password is too weak.
    WeakPassword => "WEAK_PASSWORD",
    /// Too many operations at once on one socket.
    TooManyOperations => "TOO_MANY_OPERATIONS",
    /// The operation took too long.
    Timeout => "TIMEOUT",
    /// The user is a clerk of another store.
    AlreadyClerk => "ALREADY_CLERK",
    /// The store's day is closed.
    DayClosed => "DAY_CLOSED",
    /// Not enough on the store's shelf.
    NotOnShelf => "NOT_ON_SHELF",
    /// Too many open sockets on this server.
    TooManySockets => "TOO_MANY_SOCKETS",
    /// The account is disabled.
    AccountDisabled => "ACCOUNT_DISABLED",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}
