namespace Postbote.Smtp;

/// <summary>
/// Every limit and timeout of the SMTP server in one place, each with its unit and where its default comes from.
/// Validated at start-up by <see cref="Validate"/>.
/// </summary>
public sealed class SmtpServerLimits
{
    /// <summary>Largest message accepted, in bytes, counted on the unstuffed data the client sends. Advertised as
    /// <c>SIZE</c> (RFC 1870). Defaults to 10,485,760 bytes (10 MiB), like Postfix's message_size_limit order of magnitude.</summary>
    public long MessageSize { get; set; } = 10 * 1024 * 1024;

    /// <summary>Most bytes of memory that the bodies of messages being received may hold in all, across every session
    /// (<see cref="Postbote.Queue.BodyMemoryBudget"/>); once it is used up, further bodies are streamed to their own
    /// files as they arrive. Defaults to 268,435,456 bytes (256 MiB), the memory of 1,024 sessions each at the
    /// 256 KiB in-memory limit. 0 sends every body to a file.</summary>
    public long MaxBodyMemory { get; set; } = 256L * 1024 * 1024;

    /// <summary>Most recipients per message; the next RCPT gets <c>452 4.5.3</c> (RFC 5321 §4.5.3.1.8 requires at least
    /// 100). Defaults to 1000, as Postfix's smtpd_recipient_limit.</summary>
    public int RecipientsPerMessage { get; set; } = 1000;

    /// <summary>How long the server waits for a command or for more DATA bytes before <c>421 4.4.2</c> and close.
    /// Defaults to 5 minutes (RFC 5321 §4.5.3.2.7: "Server Timeout: 5 Minutes").</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Minimum average rate, in bytes per second, at which message data must arrive once
    /// <see cref="MinDataRateGracePeriod"/> has passed; a slower client gets <c>421 4.4.2</c>. 0 turns the check off.
    /// Defaults to 240 bytes/s, as Kestrel's MinRequestBodyDataRate.</summary>
    public int MinDataRate { get; set; } = 240;

    /// <summary>Time from the start of DATA, or of the first BDAT of a transaction, before <see cref="MinDataRate"/> is
    /// enforced. Defaults to 10 seconds. For BDAT the rate covers the whole transaction up to <c>BDAT … LAST</c>, the
    /// commands between chunks included.</summary>
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest time one command line (or SASL response line) may take to arrive, from its first octet to its
    /// CRLF; a slower client gets <c>421 4.4.2</c>. Bounds a client that drips a line one octet at a time, which
    /// <see cref="IdleTimeout"/> alone does not, since every octet restarts it. Defaults to 60 seconds, ample for a
    /// 12,290-octet AUTH line on any link.</summary>
    public TimeSpan CommandLineTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most simultaneous connections in all; more get <c>421 4.4.5</c>. Defaults to 10,000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Most simultaneous connections from one client IP address; more get <c>421 4.7.0</c>. Defaults to 100.</summary>
    public int MaxConnectionsPerIp { get; set; } = 100;

    /// <summary>Error replies (4xx/5xx caused by the client) after which the session gets <c>421 4.7.0</c> and is closed.
    /// Defaults to 20, as Postfix's smtpd_hard_error_limit.</summary>
    public int MaxErrors { get; set; } = 20;

    /// <summary>Longest command line in octets including CRLF (RFC 5321 §4.5.3.1.4: 512). MAIL and RCPT may be longer by
    /// what their parameters add: SIZE 26 (RFC 1870 §3), ENVID 100 and ORCPT 500 (RFC 3461 §4), AUTH 500 (RFC 4954 §5).</summary>
    public int CommandLineLength { get; set; } = 512;

    /// <summary>Longest text line in message data in octets including CRLF (RFC 5321 §4.5.3.1.6: 1000); longer lines
    /// refuse the message unless it is <c>BODY=BINARYMIME</c>.</summary>
    public int TextLineLength { get; set; } = 1000;

    /// <summary>How long a stopping server lets sessions that are receiving a message finish before it sends them
    /// <c>421</c>. Defaults to 30 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most <c>Received:</c> header fields a message may carry (<c>[limits] hop_count_limit</c>); one with
    /// more is in a mail loop and is refused at the end of data with <c>554 5.4.6</c>, or, when it is already queued,
    /// failed with 5.4.6 when it would be relayed. Defaults to 100: RFC 5321 §6.3, "SMTP servers using this technique
    /// SHOULD use a large rejection threshold, normally at least 100 Received entries" (Postfix's
    /// <c>hopcount_limit</c> is 50). 0 turns the check off.</summary>
    public int HopCountLimit { get; set; } = 100;

    /// <summary>Checks that every limit is in range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of its range (the message names it).</exception>
    public void Validate()
    {
        if (HopCountLimit < 0) throw new ArgumentOutOfRangeException(nameof(HopCountLimit), HopCountLimit, "hop_count_limit must not be negative");
        if (MessageSize < 1024) throw new ArgumentOutOfRangeException(nameof(MessageSize), MessageSize, "message_size must be at least 1024 bytes");
        if (MaxBodyMemory < 0) throw new ArgumentOutOfRangeException(nameof(MaxBodyMemory), MaxBodyMemory, "max_body_memory must not be negative");
        if (RecipientsPerMessage < 1) throw new ArgumentOutOfRangeException(nameof(RecipientsPerMessage), RecipientsPerMessage, "recipients must be at least 1 (RFC 5321 asks for 100)");
        if (IdleTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "idle_timeout must be positive");
        if (MinDataRate < 0) throw new ArgumentOutOfRangeException(nameof(MinDataRate), MinDataRate, "min_data_rate must not be negative");
        if (CommandLineTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CommandLineTimeout), CommandLineTimeout, "command_line_timeout must be positive");
        if (MinDataRateGracePeriod < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MinDataRateGracePeriod), MinDataRateGracePeriod, "min_data_rate_grace must not be negative");
        if (MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "max_connections must be at least 1");
        if (MaxConnectionsPerIp < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerIp), MaxConnectionsPerIp, "max_connections_per_ip must be at least 1");
        if (MaxErrors < 1) throw new ArgumentOutOfRangeException(nameof(MaxErrors), MaxErrors, "max_errors must be at least 1");
        if (CommandLineLength < 512) throw new ArgumentOutOfRangeException(nameof(CommandLineLength), CommandLineLength, "command line length must be at least 512 (RFC 5321 §4.5.3.1.4)");
        if (TextLineLength < 1000) throw new ArgumentOutOfRangeException(nameof(TextLineLength), TextLineLength, "text line length must be at least 1000 (RFC 5321 §4.5.3.1.6)");
    }
}
