namespace Postbote.Security.Ube;

/// <summary>
/// The <c>[rate_limits]</c> table: how fast one client address (IPv6: one /64) or one authenticated user may connect and
/// send. 0 turns a limit off; every limit is off by default, as Postfix's <c>smtpd_client_connection_rate_limit</c>,
/// <c>smtpd_client_message_rate_limit</c> and <c>smtpd_client_recipient_rate_limit</c> are (0, no limit). Clients in
/// the trusted networks are exempt, as Postfix exempts <c>smtpd_client_event_limit_exceptions</c> (<c>$mynetworks</c>).
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Connections per minute from one client; more get <c>421 4.7.0</c> and are closed. 0 (the default): no
    /// limit.</summary>
    public int ConnectionsPerClient { get; set; }

    /// <summary>Messages (MAIL commands) per hour from one unauthenticated client; more get <c>451 4.7.1</c>. 0 (the
    /// default): no limit.</summary>
    public int MessagesPerClient { get; set; }

    /// <summary>Messages (MAIL commands) per hour from one authenticated user, wherever the user connects from; more get
    /// <c>451 4.7.1</c>. 0 (the default): no limit.</summary>
    public int MessagesPerUser { get; set; }

    /// <summary>Recipients (accepted RCPT commands' attempts) per hour from one unauthenticated client; more get
    /// <c>451 4.7.1</c>. 0 (the default): no limit.</summary>
    public int RecipientsPerClient { get; set; }

    /// <summary>The connection limit's window: one minute.</summary>
    public TimeSpan ConnectionWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The message and recipient limits' window: one hour.</summary>
    public TimeSpan MessageWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most clients (or users) each limit tracks at once; a client beyond it is not limited until idle ones
    /// are dropped. Defaults to 100,000 (about 10 MB per limit).</summary>
    public int MaxTracked { get; set; } = 100_000;

    /// <summary>Whether any limit is on.</summary>
    public bool Any => ConnectionsPerClient > 0 || MessagesPerClient > 0 || MessagesPerUser > 0 || RecipientsPerClient > 0;
}
