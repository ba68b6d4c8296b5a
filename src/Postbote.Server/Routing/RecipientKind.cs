namespace Postbote.Routing;

/// <summary>What the router knows about a forward-path at RCPT time.</summary>
public enum RecipientKind
{
    /// <summary>A local domain and a known mailbox, alias or the catch-all: accept and deliver locally.</summary>
    Local,
    /// <summary>A local domain but no such mailbox: refuse at RCPT with 550 5.1.1 (no backscatter).</summary>
    UnknownLocal,
    /// <summary>Not a local domain: a relay destination, allowed only to trusted or authenticated clients.</summary>
    Remote,
}
