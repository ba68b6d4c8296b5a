namespace Postbote.Protocol.Pop3;

/// <summary>The POP3 commands Postbote knows (RFC 1939 §4–§7, CAPA of RFC 2449 §5, STLS of RFC 2595 §4, AUTH of
/// RFC 5034 §4).</summary>
public enum Pop3Verb : byte
{
    /// <summary>A keyword Postbote does not implement.</summary>
    Unknown,

    /// <summary>USER name (RFC 1939 §7).</summary>
    User,

    /// <summary>PASS string (RFC 1939 §7).</summary>
    Pass,

    /// <summary>APOP name digest (RFC 1939 §7); recognised, not offered.</summary>
    Apop,

    /// <summary>AUTH mechanism [initial-response] (RFC 5034 §4).</summary>
    Auth,

    /// <summary>STLS (RFC 2595 §4).</summary>
    Stls,

    /// <summary>CAPA (RFC 2449 §5).</summary>
    Capa,

    /// <summary>STAT (RFC 1939 §5).</summary>
    Stat,

    /// <summary>LIST [msg] (RFC 1939 §5).</summary>
    List,

    /// <summary>RETR msg (RFC 1939 §5).</summary>
    Retr,

    /// <summary>DELE msg (RFC 1939 §5).</summary>
    Dele,

    /// <summary>NOOP (RFC 1939 §5).</summary>
    Noop,

    /// <summary>RSET (RFC 1939 §5).</summary>
    Rset,

    /// <summary>QUIT (RFC 1939 §4, §6).</summary>
    Quit,

    /// <summary>TOP msg n (RFC 1939 §7).</summary>
    Top,

    /// <summary>UIDL [msg] (RFC 1939 §7).</summary>
    Uidl,
}
