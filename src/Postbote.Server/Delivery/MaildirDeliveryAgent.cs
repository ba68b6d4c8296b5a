using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;
using Postbote.MailStore;
using Postbote.Queue;

namespace Postbote.Delivery;

/// <summary>
/// Delivers into the Maildirs of a <see cref="MaildirStore"/> (layout, file names, creating and naming files). Each copy
/// is <c>Return-Path: &lt;reverse-path&gt;</c> (RFC 5321 §4.4: "the final delivery SMTP server ... MUST insert a
/// return-path line"), <c>Delivered-To: user@domain</c>, then the spool body with its CRLF line ends stored as LF (the
/// Maildir convention; <see cref="LocalDeliveryOptions.SaveCrlf"/> keeps CRLF, and a BINARYMIME body keeps its bytes),
/// converted while it is copied. It is written as an unnamed file in <c>new/</c> (<c>O_TMPFILE</c>), made durable, then
/// linked into place under its name and the link made durable; where unnamed files do not exist, it is written to
/// <c>tmp/</c>, made durable, renamed into <c>new/</c> and the rename made durable. Only then is the recipient
/// reported delivered.
/// </summary>
/// <remarks>
/// Each recipient of a request is taken as a final mailbox (<c>user@domain</c>; the router expands aliases first).
/// Recipients naming the same mailbox get one copy. File names are deterministic per queue ID and mailbox
/// (<see cref="MaildirStore.GetUniqueName"/>), so a repeated attempt (<see cref="DeliveryRequest.IsRecovered"/>)
/// recognises a copy already in <c>new/</c> or <c>cur/</c> and does not write another. The syncs go through a shared
/// <see cref="DurabilityBarrier"/>: concurrent deliveries share one sync for their data and one for their links or
/// renames.
/// </remarks>
public sealed class MaildirDeliveryAgent : IDeliveryAgent
{
    private const int CopyBufferSize = 64 * 1024;

    /// <summary>The Maildir++ folder quarantined messages go to, inside the mailbox's Maildir: <c>.Junk</c>, which Dovecot's
    /// default Maildir layout shows as the folder <c>Junk</c> (RFC 6154 <c>\Junk</c> when so configured).</summary>
    public const string JunkFolder = ".Junk";

    private readonly MaildirStore _store;
    private readonly DurabilityBarrier _barrier;
    private readonly ILogger<MaildirDeliveryAgent> _logger;
    private readonly bool _saveCrlf;

    /// <summary>Creates the agent.</summary>
    /// <param name="options">The local configuration; <see cref="LocalDeliveryOptions.MaildirRoot"/> and
    /// <see cref="LocalDeliveryOptions.SaveCrlf"/> are used.</param>
    /// <param name="barrier">The group sync for the file system of the Maildir root (may be shared with the spool when
    /// both are on one file system).</param>
    /// <param name="logger">Where failures are logged.</param>
    /// <param name="hostName">The host name in file names; <see cref="Environment.MachineName"/> when <c>null</c>.
    /// Keep it stable: a redelivery recognises its earlier copies by name.</param>
    /// <exception cref="ArgumentException">The Maildir root is empty.</exception>
    public MaildirDeliveryAgent(LocalDeliveryOptions options, DurabilityBarrier barrier, ILogger<MaildirDeliveryAgent> logger,
        string? hostName = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(barrier);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.MaildirRoot);
        _store = new MaildirStore(options.MaildirRoot, hostName);
        _barrier = barrier;
        _logger = logger;
        _saveCrlf = options.SaveCrlf;
    }

    /// <summary>The Maildirs this agent delivers into.</summary>
    public MaildirStore Store => _store;

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int count = request.Recipients.Count;
        var results = new RecipientResult[count];
        var copies = new List<Copy>(count);
        var byMailbox = new Dictionary<string, Copy>(StringComparer.Ordinal);
        var ofRecipient = new Copy?[count];
        for (int i = 0; i < count; i++)
        {
            Mailbox address = request.Recipients[i].Address;
            string mailbox = (address.UnquotedLocalPart + "@" + address.Domain).ToLowerInvariant();
            if (byMailbox.TryGetValue(mailbox, out Copy? same)) { ofRecipient[i] = same; continue; }
            string dir;
            try
            {
                dir = _store.GetMaildirPath(mailbox);
                if (request.Envelope.Quarantine) dir = Path.Combine(dir, JunkFolder);
            }
            catch (ArgumentException)
            {
                results[i] = RecipientResult.Permanent(EnhancedStatusCode.BadDestinationSyntax, "not a deliverable mailbox name");
                continue;
            }
            var copy = new Copy(mailbox, dir, _store.GetUniqueName(request.Envelope.ReceivedAt, request.Envelope.Id, mailbox));
            byMailbox[mailbox] = copy;
            ofRecipient[i] = copy;
            copies.Add(copy);
        }

        var createdDirectories = new HashSet<string>(StringComparer.Ordinal);
        var pending = new List<Copy>(copies.Count);
        foreach (Copy copy in copies)
        {
            try
            {
                if (request.Envelope.Quarantine) EnsureJunkFolder(copy.Directory, createdDirectories);
                else _store.EnsureMaildir(copy.Directory, createdDirectories);
                if (request.IsRecovered && MaildirStore.ContainsMessage(copy.Directory, copy.FileName))
                {
                    copy.Result = RecipientResult.Delivered("already delivered to maildir");
                    continue;
                }
                pending.Add(copy);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                copy.Result = Fail(copy, e);
            }
        }

        if (pending.Count > 0) await WriteCopiesAsync(request, pending, createdDirectories, cancellationToken).ConfigureAwait(false);

        for (int i = 0; i < count; i++)
        {
            if (results[i] is null) results[i] = ofRecipient[i]!.Result ?? RecipientResult.Temporary("maildir delivery not completed");
        }
        return results;
    }

    private async Task WriteCopiesAsync(DeliveryRequest request, List<Copy> pending, HashSet<string> createdDirectories,
        CancellationToken cancellationToken)
    {
        // RFC 3030 §3: BINARYMIME data is octets, not lines; it is stored as it came, with SMTP's own CRLF trace headers.
        bool lf = !_saveCrlf && request.Envelope.Body != BodyType.BinaryMime;
        string eol = lf ? "\n" : "\r\n";
        byte[] header = Encoding.UTF8.GetBytes("Return-Path: " + request.Envelope.ReversePathText + eol);
        // The header fields the end-of-data policy added (Authentication-Results …) go between the trace headers and the
        // stored message, with the same line ends.
        string addedText = request.Envelope.AddedHeaders ?? "";
        byte[] added = Encoding.UTF8.GetBytes(lf ? addedText.Replace("\r\n", "\n", StringComparison.Ordinal) : addedText);
        int addedLines = System.MemoryExtensions.Count(added.AsSpan(), (byte)'\n');
        SafeFileHandle body;
        try
        {
            body = request.OpenBody();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (Copy c in pending) c.Result = Fail(c, e);
            return;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        byte[]? converted = lf ? ArrayPool<byte>.Shared.Rent(CopyBufferSize + 1) : null;
        var written = new List<Copy>(pending.Count);
        try
        {
            // Open every tmp file and write the two trace headers.
            foreach (Copy c in pending)
            {
                try
                {
                    c.Handle = _store.OpenNewFile(c.Directory, c.FileName, createdDirectories, out bool unnamed);
                    c.Unnamed = unnamed;
                    // The two trace headers go out with the first body chunk, in one vectored write.
                    c.Prefix = [header, Encoding.UTF8.GetBytes("Delivered-To: " + c.Mailbox + eol), added];
                    c.Lines = 2 + addedLines;
                    written.Add(c);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Abandon(c, Fail(c, e));
                }
            }

            // Copy the body once into every open file, one chunk at a time (converted in place to LF line ends).
            long bodyOffset = 0;
            bool pendingCr = false;
            while (written.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int want = (int)Math.Min(buffer.Length, request.Envelope.Size - bodyOffset);
                if (want <= 0) break;
                int n = RandomAccess.Read(body, buffer.AsSpan(0, want), request.BodyOffset + bodyOffset);
                if (n == 0) break;
                bodyOffset += n;
                int lfs = System.MemoryExtensions.Count(buffer.AsSpan(0, n), (byte)'\n');
                foreach (Copy c in written) c.Lines += lfs;
                byte[] chunk = buffer;
                if (lf)
                {
                    n = LineEnds.DropCarriageReturns(buffer.AsSpan(0, n), converted!, ref pendingCr, bodyOffset == request.Envelope.Size);
                    chunk = converted!;
                }
                for (int k = written.Count - 1; k >= 0; k--)
                {
                    Copy c = written[k];
                    try
                    {
                        WriteChunk(c, chunk.AsMemory(0, n));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        Abandon(c, Fail(c, e));
                        written.RemoveAt(k);
                    }
                }
            }
            if (bodyOffset < request.Envelope.Size)
            {
                foreach (Copy c in written) Abandon(c, RecipientResult.Temporary("the spool body is shorter than its envelope says"));
                written.Clear();
            }
            for (int k = written.Count - 1; k >= 0; k--)
            {
                // An empty body: the headers still have to be written.
                if (written[k].Prefix is null) continue;
                try
                {
                    WriteChunk(written[k], ReadOnlyMemory<byte>.Empty);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Abandon(written[k], Fail(written[k], e));
                    written.RemoveAt(k);
                }
            }

            for (int k = written.Count - 1; k >= 0; k--)
            {
                Copy c = written[k];
                try
                {
                    if (!_barrier.SyncsFileSystem) RandomAccess.FlushToDisk(c.Handle!);
                    if (!c.Unnamed)
                    {
                        c.Handle!.Dispose();
                        c.Handle = null;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Abandon(c, Fail(c, e));
                    written.RemoveAt(k);
                }
            }
        }
        catch (OperationCanceledException)
        {
            foreach (Copy c in written) Abandon(c, RecipientResult.Temporary("delivery cancelled"));
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (converted is not null) ArrayPool<byte>.Shared.Return(converted);
            body.Dispose();
        }
        if (written.Count == 0) return;

        // Data durable, then link or rename into new/, then the links (and new directories) durable.
        try
        {
            await _barrier.SyncAsync(null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            foreach (Copy c in written) Abandon(c, Fail(c, e));
            return;
        }
        var renamed = new List<Copy>(written.Count);
        foreach (Copy c in written)
        {
            try
            {
                // Maildir++ sizes: S= what is stored, W= the size with CRLF line ends (RFC822.SIZE for IMAP readers).
                long crlfSize = lf ? c.Offset + c.Lines : c.Offset;
                string fileName = MaildirStore.WithSizes(c.FileName, c.Offset, crlfSize);
                if (c.Unnamed)
                {
                    MaildirStore.LinkIntoNew(c.Handle!, c.Directory, fileName);
                    c.Handle!.Dispose();
                    c.Handle = null;
                }
                else
                {
                    MaildirStore.MoveIntoNew(c.Directory, c.FileName, fileName);
                }
                renamed.Add(c);
                createdDirectories.Add(MaildirStore.NewDirectory(c.Directory));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Abandon(c, Fail(c, e));
            }
        }
        if (renamed.Count == 0) return;
        try
        {
            await _barrier.SyncAsync(createdDirectories, CancellationToken.None).ConfigureAwait(false);
            foreach (Copy c in renamed) c.Result = RecipientResult.Delivered("delivered to maildir");
        }
        catch (IOException e)
        {
            // The copy may or may not survive a crash: retry; the retry finds it in new/ if it did.
            foreach (Copy c in renamed) c.Result = Fail(c, e);
        }
    }

    /// <summary>Creates the mailbox's Maildir, then its Junk folder in it, with the <c>maildirfolder</c> marker file that
    /// Maildir++ puts into every folder.</summary>
    private void EnsureJunkFolder(string junk, HashSet<string> createdDirectories)
    {
        _store.EnsureMaildir(Path.GetDirectoryName(junk)!, createdDirectories);
        _store.EnsureMaildir(junk, createdDirectories);
        string marker = Path.Combine(junk, "maildirfolder");
        if (!File.Exists(marker)) File.WriteAllBytes(marker, []);
    }

    /// <summary>Appends a body chunk to a copy, preceded by its trace headers the first time.</summary>
    private static void WriteChunk(Copy c, ReadOnlyMemory<byte> chunk)
    {
        if (c.Prefix is { } prefix)
        {
            c.Prefix = null;
            ReadOnlyMemory<byte>[] parts = chunk.IsEmpty ? [prefix[0], prefix[1], prefix[2]] : [prefix[0], prefix[1], prefix[2], chunk];
            RandomAccess.Write(c.Handle!, parts, c.Offset);
            c.Offset += prefix[0].Length + prefix[1].Length + prefix[2].Length + chunk.Length;
            return;
        }
        RandomAccess.Write(c.Handle!, chunk.Span, c.Offset);
        c.Offset += chunk.Length;
    }

    private RecipientResult Fail(Copy copy, Exception e)
    {
        string reason = Describe(e, copy.Directory);
        _logger.LogWarning("Maildir delivery to {Mailbox} in {Directory} failed: {Reason}", copy.Mailbox, copy.Directory, reason);
        return RecipientResult.Temporary($"maildir delivery to {copy.Directory} failed: {reason}");
    }

    /// <summary>The system's reason for an I/O error with its path: the errno text (kept by the runtime in
    /// <see cref="Exception.HResult"/> on Unix), then .NET's message unless it already says it. .NET reports ENOTDIR as
    /// "Could not find a part of the path"; then the first existing part of the Maildir's path is named.</summary>
    private static string Describe(Exception e, string maildir)
    {
        string message = e.Message.ReplaceLineEndings(" ");
        if (e is DirectoryNotFoundException or FileNotFoundException)
        {
            string? part = maildir;
            while (part is not null && !System.IO.Directory.Exists(part) && !File.Exists(part)) part = Path.GetDirectoryName(part);
            if (part is not null && File.Exists(part)) return $"Not a directory: {part} is a file ({message})";
            return $"No such file or directory ({message})";
        }
        string? errno = e is UnauthorizedAccessException ? "Permission denied"
            : !OperatingSystem.IsWindows() && e.HResult is > 0 and < 4096 ? System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(e.HResult)
            : null;
        return errno is null || message.Contains(errno, StringComparison.OrdinalIgnoreCase) ? message : $"{errno} ({message})";
    }

    private static void Abandon(Copy c, RecipientResult result)
    {
        c.Handle?.Dispose();
        c.Handle = null;
        c.Result = result;
        if (!c.Unnamed) MaildirStore.DiscardTmp(c.Directory, c.FileName); // an unnamed file vanishes when its handle closes
    }

    private sealed class Copy(string mailbox, string directory, string fileName)
    {
        public string Mailbox { get; } = mailbox;
        public string Directory { get; } = directory;
        public string FileName { get; } = fileName;
        public long Lines { get; set; }
        public SafeFileHandle? Handle { get; set; }
        public bool Unnamed { get; set; }
        public byte[][]? Prefix { get; set; }
        public long Offset { get; set; }
        public RecipientResult? Result { get; set; }
    }
}
