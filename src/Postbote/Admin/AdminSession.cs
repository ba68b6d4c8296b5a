namespace Postbote.Host.Admin;

/// <summary>One login to the queue page (<see cref="AdminSessions"/>).</summary>
/// <param name="User">The user name.</param>
/// <param name="Id">The session ID, the cookie's value: 32 random octets in hex.</param>
/// <param name="Csrf">The CSRF token every changing request carries: 32 random octets in hex.</param>
public sealed record AdminSession(string User, string Id, string Csrf)
{
    /// <summary>When the session was last used (UTC).</summary>
    public DateTimeOffset LastUse { get; set; }
}
