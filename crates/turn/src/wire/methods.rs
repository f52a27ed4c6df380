//! TURN methods (RFC 8656 §17) and error codes (RFC 8656 §19).

use tern_stun::Method;
use tern_stun::attributes::ErrorCode;

/// Allocate (0x003): only request/response.
pub const ALLOCATE: Method = Method::new(0x003);
/// Refresh (0x004): only request/response.
pub const REFRESH: Method = Method::new(0x004);
/// Send (0x006): only indication.
pub const SEND: Method = Method::new(0x006);
/// Data (0x007): only indication.
pub const DATA: Method = Method::new(0x007);
/// CreatePermission (0x008): only request/response.
pub const CREATE_PERMISSION: Method = Method::new(0x008);
/// ChannelBind (0x009): only request/response.
pub const CHANNEL_BIND: Method = Method::new(0x009);

/// 403 Forbidden: the request is valid but cannot be performed (peer denied by policy).
pub const FORBIDDEN: ErrorCode<'static> = ErrorCode {
    code: 403,
    reason: "Forbidden",
};
/// 437 Allocation Mismatch.
pub const ALLOCATION_MISMATCH: ErrorCode<'static> = ErrorCode {
    code: 437,
    reason: "Allocation Mismatch",
};
/// 440 Address Family not Supported.
pub const ADDRESS_FAMILY_NOT_SUPPORTED: ErrorCode<'static> = ErrorCode {
    code: 440,
    reason: "Address Family not Supported",
};
/// 441 Wrong Credentials.
pub const WRONG_CREDENTIALS: ErrorCode<'static> = ErrorCode {
    code: 441,
    reason: "Wrong Credentials",
};
/// 442 Unsupported Transport Protocol.
pub const UNSUPPORTED_TRANSPORT: ErrorCode<'static> = ErrorCode {
    code: 442,
    reason: "Unsupported Transport Protocol",
};
/// 443 Peer Address Family Mismatch.
pub const PEER_ADDRESS_FAMILY_MISMATCH: ErrorCode<'static> = ErrorCode {
    code: 443,
    reason: "Peer Address Family Mismatch",
};
/// 486 Allocation Quota Reached.
pub const ALLOCATION_QUOTA_REACHED: ErrorCode<'static> = ErrorCode {
    code: 486,
    reason: "Allocation Quota Reached",
};
/// 508 Insufficient Capacity.
pub const INSUFFICIENT_CAPACITY: ErrorCode<'static> = ErrorCode {
    code: 508,
    reason: "Insufficient Capacity",
};
