using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using MimeKit.Utils;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Host.Sendmail;

/// <summary>
/// Imports the messages that <c>postbote sendmail</c> left in <c>{data_dir}/pickup/</c> while the server was not running
/// (<see cref="PickupFile"/>): at start, then every <see cref="Interval"/>. Each becomes a spool entry through the
/// <see cref="IMessageSink"/> (with a Received header of its own) and its file is deleted only after the spool commit, so
/// a crash between the two may queue a message twice but never loses one. A file that is not a pickup file, or is larger
/// than the message size limit, is moved to <c>{data_dir}/corrupt/</c> and logged, never retried. Files whose names
/// begin with a dot are still being written and are left alone.
/// </summary>
public sealed class PickupImporter : IAsyncDisposable
{
    /// <summary>How often the folder is looked at: every second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The most files imported per look: 1,000 (the rest wait for the next).</summary>
    public const int MaxFilesPerScan = 1000;

    private readonly string _directory;
    private readonly string _corrupt;
    private readonly IMessageSink _sink;
    private readonly string _hostName;
    private readonly long _maxSize;
    private readonly ILogger<PickupImporter> _log;
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;

    /// <summary>Creates the importer; <see cref="StartAsync"/> runs it.</summary>
    /// <param name="dataDirectory">The data directory (the folder is its <c>pickup/</c>).</param>
    /// <param name="sink">The spool.</param>
    /// <param name="hostName">The host name for the Received header.</param>
    /// <param name="maxSize">The largest message taken, in bytes (<c>limits.message_size</c>).</param>
    /// <param name="logger">Where each import is logged with its queue ID.</param>
    public PickupImporter(string dataDirectory, IMessageSink sink, string hostName, long maxSize, ILogger<PickupImporter> logger)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(logger);
        _directory = Path.Combine(Path.GetFullPath(dataDirectory), PickupFile.DirectoryName);
        _corrupt = Path.Combine(Path.GetFullPath(dataDirectory), "corrupt");
        _sink = sink;
        _hostName = hostName;
        _maxSize = maxSize;
        _log = logger;
    }

    /// <summary>Creates the folder, imports what is there, then keeps looking every <see cref="Interval"/>.</summary>
    /// <param name="cancellationToken">Cancels the first import.</param>
    /// <returns>A task that completes after the first import.</returns>
    /// <exception cref="IOException">The folder cannot be created.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_directory);
        await ImportAsync(cancellationToken).ConfigureAwait(false);
        _running = RunAsync(_stopping.Token);
    }

    /// <summary>Imports every file now in the folder (at most <see cref="MaxFilesPerScan"/>).</summary>
    /// <param name="cancellationToken">Cancels between files.</param>
    /// <returns>How many messages were queued.</returns>
    public async Task<int> ImportAsync(CancellationToken cancellationToken)
    {
        string[] files;
        try
        {
            files = Directory.Exists(_directory) ? Directory.GetFiles(_directory) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("pickup: {Directory}: {Error}", _directory, e.Message);
            return 0;
        }
        int queued = 0;
        foreach (string file in files.Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).Take(MaxFilesPerScan))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await ImportFileAsync(file, cancellationToken).ConfigureAwait(false)) queued++;
        }
        return queued;
    }

    private async Task<bool> ImportFileAsync(string file, CancellationToken cancellationToken)
    {
        PickupFile pickup;
        try
        {
            var info = new FileInfo(file);
            if (!info.Exists) return false;
            if (info.Length > _maxSize + 64 * 1024) throw new FormatException($"{info.Length} bytes, more than limits.message_size ({_maxSize} bytes)");
            pickup = PickupFile.Parse(await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false));
        }
        catch (FormatException e)
        {
            SetAside(file, e.Message);
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("pickup: {File}: {Error}; tried again later", file, e.Message);
            return false;
        }
        Mailbox? sender = pickup.Sender.Length == 0 ? null : Address(pickup.Sender);
        List<Mailbox?> recipients = pickup.Recipients.Select(Address).ToList();
        if (pickup.Sender.Length > 0 && sender is null || recipients.Any(r => r is null))
        {
            SetAside(file, "an address that is not user@domain");
            return false;
        }
        DateTimeOffset now = DateTimeOffset.UtcNow;
        QueueId id = QueueId.New(now);
        byte[] received = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"Received: by {_hostName} (Postbote sendmail) id {id};\r\n\t{DateUtils.FormatDate(now)}\r\n"));
        byte[] message = pickup.Message;
        try
        {
            await using IMessageWriter writer = await _sink.BeginAsync(id, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(received, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            var envelope = new Envelope(id, sender, recipients.Select(r => new Recipient(r!)).ToList(), now,
                Body: message.AsSpan().ContainsAnyExceptInRange((byte)0, (byte)0x7F) ? BodyType.EightBitMime : BodyType.SevenBit,
                ClientAddress: "", HeloName: "pickup", Size: received.Length + message.Length);
            await writer.CommitAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _log.LogWarning("pickup: {File}: the spool refused it ({Error}); tried again later", file, e.Message);
            return false;
        }
        // Only now, after the spool commit, is the file redundant.
        File.Delete(file);
        _log.LogInformation("{QueueId}: from=<{Sender}>, nrcpt={Count} (queued from {File} by pickup)", id, pickup.Sender, recipients.Count, Path.GetFileName(file));
        return true;
    }

    private void SetAside(string file, string reason)
    {
        try
        {
            Directory.CreateDirectory(_corrupt);
            string to = Path.Combine(_corrupt, "pickup-" + Path.GetFileName(file));
            File.Move(file, to, overwrite: true);
            _log.LogError("pickup: {File}: not a message ({Reason}): moved to {To}, not delivered", file, reason, to);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("pickup: {File}: not a message ({Reason}) and cannot be moved aside: {Error}", file, reason, e.Message);
        }
    }

    private static Mailbox? Address(string text)
    {
        int at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1 || text.Any(static ch => char.IsControl(ch) || ch is ' ' or '<' or '>')) return null;
        return new Mailbox(text[..at], text[(at + 1)..]);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await ImportAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Stops looking; a message being imported is finished or left in the folder.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
