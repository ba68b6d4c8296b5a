namespace Postbote.Tracing;

/// <summary>
/// One step in the life of a message, as <c>postbote trace</c> shows it. Only the properties that fit the
/// <see cref="Kind"/> are set; the others stay <c>null</c> and are not stored.
/// </summary>
/// <param name="Time">When it happened (UTC).</param>
/// <param name="Kind">What happened.</param>
public sealed record MessageEvent(DateTimeOffset Time, MessageEventKind Kind)
{
    /// <summary>The SMTP client's IP address (<see cref="MessageEventKind.Received"/>).</summary>
    public string? Client { get; init; }

    /// <summary>The HELO or EHLO name the client gave.</summary>
    public string? Helo { get; init; }

    /// <summary>TLS of the connection, protocol and cipher suite (e.g. <c>Tls13 TLS_AES_256_GCM_SHA384</c>); <c>null</c>
    /// without TLS.</summary>
    public string? Tls { get; init; }

    /// <summary>The user name of SMTP AUTH, when the client authenticated.</summary>
    public string? User { get; init; }

    /// <summary>The Message-ID header field's value as in the message, angle brackets included.</summary>
    public string? MessageId { get; init; }

    /// <summary>The reverse-path in angle brackets (<c>&lt;&gt;</c> for the null reverse-path).</summary>
    public string? From { get; init; }

    /// <summary>The recipient or recipients the event is about.</summary>
    public IReadOnlyList<string>? Recipients { get; init; }

    /// <summary>The message size in bytes.</summary>
    public long? Size { get; init; }

    /// <summary>The SMTP stage of a policy decision (<c>connect</c>, <c>mail</c>, <c>rcpt</c>, <c>data</c>).</summary>
    public string? Stage { get; init; }

    /// <summary>The outcome: for a policy decision <c>accept</c>, <c>reject</c> or <c>defer</c>; for an attempt
    /// <c>delivered</c>, <c>deferred</c>, <c>failed</c>, <c>expired</c> or <c>held</c>.</summary>
    public string? Result { get; init; }

    /// <summary>Why, in words for the administrator (a policy reason, why a message was removed).</summary>
    public string? Reason { get; init; }

    /// <summary>The remote host of an attempt as <c>name[address]:port</c>, or <c>none</c> for local delivery.</summary>
    public string? Host { get; init; }

    /// <summary>The reply of an attempt, one line (<c>451 4.3.0 try again later</c>).</summary>
    public string? Reply { get; init; }

    /// <summary>The attempt's number for its recipient, from 1.</summary>
    public int? Attempt { get; init; }

    /// <summary>A duration in seconds: for an attempt the delay since the message arrived, for a commit how long it took.</summary>
    public double? Seconds { get; init; }

    /// <summary>Another message's queue ID: a notification's for <see cref="MessageEventKind.DsnSent"/>, the original's for
    /// a notification's <see cref="MessageEventKind.Received"/>.</summary>
    public string? Related { get; init; }

    /// <summary>The administrator's action: <c>retry</c>, <c>hold</c>, <c>release</c>, <c>delete</c>.</summary>
    public string? Action { get; init; }
}
