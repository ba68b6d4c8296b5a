using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// A message at the end of data, before it is committed, as the end-of-data stage of the policy sees it: the
/// transaction, the recipients, the header section as received (bounded), and the whole data as received, to be read
/// as a stream (a body over the memory limit is on disk, never loaded whole).
/// </summary>
public sealed class InboundMessage
{
    private readonly Func<Stream> _open;

    /// <summary>Creates the view of a received message.</summary>
    /// <param name="id">The queue ID the message will have.</param>
    /// <param name="transaction">The transaction (reverse-path, results of earlier stages).</param>
    /// <param name="recipients">The accepted forward-paths.</param>
    /// <param name="headerSection">The header section as received, up to and including the empty line that ends it, or
    /// the first <see cref="MaxHeaderSection"/> bytes when it is longer (<paramref name="headerSectionComplete"/> false).</param>
    /// <param name="headerSectionComplete">Whether <paramref name="headerSection"/> holds the whole header section.</param>
    /// <param name="size">The size of the data as received, in bytes (after dot-unstuffing, without Postbote's Received
    /// header).</param>
    /// <param name="open">Opens the data as received from its first byte; each call gives a new stream.</param>
    /// <param name="smtpUtf8">Whether the transaction used SMTPUTF8 (RFC 6531).</param>
    public InboundMessage(QueueId id, PolicyTransaction transaction, IReadOnlyList<Recipient> recipients, ReadOnlyMemory<byte> headerSection,
        bool headerSectionComplete, long size, Func<Stream> open, bool smtpUtf8 = false)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(recipients);
        ArgumentNullException.ThrowIfNull(open);
        Id = id;
        Transaction = transaction;
        Recipients = recipients;
        HeaderSection = headerSection;
        HeaderSectionComplete = headerSectionComplete;
        Size = size;
        SmtpUtf8 = smtpUtf8;
        _open = open;
    }

    /// <summary>The most bytes of the header section kept in <see cref="HeaderSection"/>: 64 KiB.</summary>
    public const int MaxHeaderSection = 64 * 1024;

    /// <summary>The queue ID the message will have when accepted.</summary>
    public QueueId Id { get; }

    /// <summary>The transaction: reverse-path and results of earlier stages.</summary>
    public PolicyTransaction Transaction { get; }

    /// <summary>The accepted forward-paths.</summary>
    public IReadOnlyList<Recipient> Recipients { get; }

    /// <summary>The header section as received (RFC 5322 §2.1), with the empty line that ends it, at most
    /// <see cref="MaxHeaderSection"/> bytes.</summary>
    public ReadOnlyMemory<byte> HeaderSection { get; }

    /// <summary>Whether <see cref="HeaderSection"/> is the whole header section (it ended within the bound).</summary>
    public bool HeaderSectionComplete { get; }

    /// <summary>The size of the data as received, in bytes.</summary>
    public long Size { get; }

    /// <summary>Whether the transaction used SMTPUTF8 (RFC 6531 §3.4).</summary>
    public bool SmtpUtf8 { get; }

    /// <summary>Opens the data as received (header section and body, dot-unstuffed, CRLF line ends) from its first
    /// byte, without the Received header Postbote writes. Dispose the stream; it is valid until the stage returns.</summary>
    /// <returns>A new read-only stream.</returns>
    /// <exception cref="IOException">The stored data cannot be read.</exception>
    public Stream OpenRead() => _open();
}
