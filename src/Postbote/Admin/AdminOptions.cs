using System.Net;

namespace Postbote.Host.Admin;

/// <summary>The <c>[admin]</c> settings: the HTTP listener of <c>/metrics</c>, the queue page and its JSON API.</summary>
public sealed class AdminOptions
{
    /// <summary><c>[admin] listen</c>: where the HTTP listener binds; 127.0.0.1:2780 by default, empty for no listener.</summary>
    public IList<IPEndPoint> Listen { get; set; } = new List<IPEndPoint> { new(IPAddress.Loopback, 2780) };

    /// <summary><c>[admin] users</c>: the users of the user store (<c>postbote user add</c>) who may log in to the queue
    /// page; none by default, and then the page is off and every login is refused (<c>/metrics</c> stays).</summary>
    public IList<string> Users { get; set; } = new List<string>();

    /// <summary>How long a login lasts without use: 30 minutes.</summary>
    public TimeSpan SessionIdleTime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Failed logins allowed per client address within <see cref="LoginWindow"/>: 5.</summary>
    public int LoginAttempts { get; set; } = 5;

    /// <summary>The window of <see cref="LoginAttempts"/>: 5 minutes.</summary>
    public TimeSpan LoginWindow { get; set; } = TimeSpan.FromMinutes(5);
}
