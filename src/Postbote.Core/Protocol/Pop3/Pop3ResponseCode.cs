namespace Postbote.Protocol.Pop3;

/// <summary>The extended response codes Postbote sends in brackets after <c>-ERR</c> (RFC 2449 §8, RFC 3206 §4).</summary>
public static class Pop3ResponseCode
{
    /// <summary><c>IN-USE</c> (RFC 2449 §8.1.2): the maildrop is locked by another session.</summary>
    public const string InUse = "IN-USE";

    /// <summary><c>LOGIN-DELAY</c> (RFC 2449 §8.1.1): the user logged in too recently. Postbote has no login delay and
    /// does not send it.</summary>
    public const string LoginDelay = "LOGIN-DELAY";

    /// <summary><c>AUTH</c> (RFC 3206 §4): a problem with the credentials, such as a wrong password.</summary>
    public const string Auth = "AUTH";

    /// <summary><c>SYS/TEMP</c> (RFC 3206 §4): a temporary system problem; trying later may work.</summary>
    public const string SysTemp = "SYS/TEMP";

    /// <summary><c>SYS/PERM</c> (RFC 3206 §4): a permanent system problem; trying again will not help.</summary>
    public const string SysPerm = "SYS/PERM";
}
