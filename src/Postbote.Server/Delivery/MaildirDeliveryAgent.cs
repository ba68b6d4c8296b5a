using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;
using Postbote.Queue;

namespace Postbote.Delivery;

/// <summary>
/// Delivers to Maildirs (https://cr.yp.to/proto/maildir.html): mailbox <c>user@domain</c> is the directory
/// <c>{MaildirRoot}/domain/user/</c> with <c>tmp/</c>, <c>new/</c> and <c>cur/</c>, created on demand. Each copy is
/// <c>Return-Path: &lt;reverse-path&gt;</c> (RFC 5321 §4.4: "the final delivery SMTP server ... MUST insert a
/// return-path line"), <c>Delivered-To: user@domain</c>, then the spool body with its CRLF line ends stored as LF (the
/// Maildir convention; <see cref="LocalDeliveryOptions.SaveCrlf"/> keeps CRLF, and a BINARYMIME body keeps its bytes),
/// converted while it is copied. It is written as an unnamed file in <c>new/</c> (<c>O_TMPFILE</c>), made durable, then
/// linked into place under its name and the link made durable; where unnamed files do not exist, it is written to
/// <c>tmp/</c> and renamed into <c>new/</c>.
/// </summary>
/// <remarks>
/// Each recipient of a request is taken as a final mailbox (<c>user@domain</c>; the router expands aliases first).
/// Recipients naming the same mailbox get one copy. File names are deterministic per queue ID and mailbox,
/// <c>&lt;received Unix seconds&gt;.Q&lt;queue ID&gt;M&lt;CRC-32C of the mailbox, 8 hex&gt;.&lt;host&gt;</c> followed by
/// <c>,S=&lt;stored size&gt;,W=&lt;size with CRLF line ends&gt;</c> (both in bytes; Dovecot takes W as RFC822.SIZE), so a
/// repeated attempt (<see cref="DeliveryRequest.IsRecovered"/>) recognises a copy already in <c>new/</c> or <c>cur/</c>
/// and does not write another. The syncs go through a shared <see cref="DurabilityBarrier"/>: concurrent deliveries
/// share one sync for their data and one for their renames.
/// </remarks>
public sealed class MaildirDeliveryAgent : IDeliveryAgent
{
    private const int CopyBufferSize = 64 * 1024;

    private readonly string _root;
    private readonly DurabilityBarrier _barrier;
    private readonly ILogger<MaildirDeliveryAgent> _logger;
    private readonly string _hostName;
    private readonly bool _saveCrlf;
    private readonly ConcurrentDictionary<string, bool> _knownMaildirs = new(StringComparer.Ordinal);
    private volatile bool _unnamedFiles = OperatingSystem.IsLinux();

    /// <summary>Creates the agent.</summary>
    /// <param name="options">The local configuration; <see cref="LocalDeliveryOptions.MaildirRoot"/> is used.</param>
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
        _root = Path.GetFullPath(options.MaildirRoot);
        _barrier = barrier;
        _logger = logger;
        _hostName = EscapeHostName(hostName ?? Environment.MachineName);
        _saveCrlf = options.SaveCrlf;
    }

    /// <summary>The full path of the Maildir root.</summary>
    public string Root => _root;

    /// <summary>The full path of the Maildir of a mailbox.</summary>
    /// <param name="mailbox">The mailbox, <c>user@domain</c>.</param>
    /// <returns><c>{MaildirRoot}/domain/user</c> in lower case.</returns>
    /// <exception cref="ArgumentException">The mailbox is not <c>user@domain</c> or is not safe as a path.</exception>
    public string GetMaildirPath(string mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        int at = mailbox.LastIndexOf('@');
        string user = at > 0 ? mailbox[..at].ToLowerInvariant() : "";
        string domain = at > 0 ? mailbox[(at + 1)..].ToLowerInvariant() : "";
        if (!IsSafeSegment(user) || !IsSafeSegment(domain)) throw new ArgumentException($"'{mailbox}' is not a deliverable mailbox.", nameof(mailbox));
        return Path.Combine(_root, domain, user);
    }

    /// <summary>The Maildir file name of one message for one mailbox, the same on every attempt.</summary>
    /// <param name="envelope">The message's envelope (queue ID and received time).</param>
    /// <param name="mailbox">The mailbox, <c>user@domain</c>, lower case.</param>
    /// <returns><c>&lt;seconds&gt;.Q&lt;id&gt;M&lt;hash&gt;.&lt;host&gt;</c>; '/' and ':' of the host are written
    /// <c>\057</c> and <c>\072</c> as the Maildir conventions ask.</returns>
    public string GetFileName(Envelope envelope, string mailbox)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(mailbox);
        uint hash = Crc32C.Compute(Encoding.UTF8.GetBytes(mailbox));
        return string.Create(CultureInfo.InvariantCulture,
            $"{envelope.ReceivedAt.ToUnixTimeSeconds()}.Q{envelope.Id.Value}M{hash:X8}.{_hostName}");
    }

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
                dir = GetMaildirPath(mailbox);
            }
            catch (ArgumentException)
            {
                results[i] = RecipientResult.Permanent(EnhancedStatusCode.BadDestinationSyntax, "not a deliverable mailbox name");
                continue;
            }
            var copy = new Copy(mailbox, dir, GetFileName(request.Envelope, mailbox));
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
                EnsureMaildir(copy.Directory, createdDirectories);
                if (request.IsRecovered && AlreadyDelivered(copy))
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
                    c.Handle = OpenTmp(c, createdDirectories);
                    // The two trace headers go out with the first body chunk, in one vectored write.
                    c.Prefix = [header, Encoding.UTF8.GetBytes("Delivered-To: " + c.Mailbox + eol)];
                    c.Lines = 2;
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
                    n = DropCarriageReturns(buffer.AsSpan(0, n), converted!, ref pendingCr, bodyOffset == request.Envelope.Size);
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

        // Data durable, then rename into new/, then the renames (and new directories) durable.
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
                c.FinalName = string.Create(CultureInfo.InvariantCulture, $"{c.FileName},S={c.Offset},W={crlfSize}");
                if (c.Unnamed)
                {
                    // An existing file of that name is this very copy, delivered before a crash (the name is derived
                    // from the queue ID and the mailbox): nothing more to do.
                    NativeMethods.TryLinkUnnamed(c.Handle!, c.NewPath);
                    c.Handle!.Dispose();
                    c.Handle = null;
                }
                else
                {
                    try
                    {
                        File.Move(c.TmpPath, c.NewPath, overwrite: true);
                    }
                    catch (DirectoryNotFoundException)
                    {
                        // new/ was removed while the copy was written (by hand, or by a clean-up): make it again, once.
                        System.IO.Directory.CreateDirectory(Path.Combine(c.Directory, "new"));
                        File.Move(c.TmpPath, c.NewPath, overwrite: true);
                    }
                }
                renamed.Add(c);
                createdDirectories.Add(Path.Combine(c.Directory, "new"));
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

    /// <summary>Appends a body chunk to a copy, preceded by its trace headers the first time.</summary>
    private static void WriteChunk(Copy c, ReadOnlyMemory<byte> chunk)
    {
        if (c.Prefix is { } prefix)
        {
            c.Prefix = null;
            ReadOnlyMemory<byte>[] parts = chunk.IsEmpty ? [prefix[0], prefix[1]] : [prefix[0], prefix[1], chunk];
            RandomAccess.Write(c.Handle!, parts, c.Offset);
            c.Offset += prefix[0].Length + prefix[1].Length + chunk.Length;
            return;
        }
        RandomAccess.Write(c.Handle!, chunk.Span, c.Offset);
        c.Offset += chunk.Length;
    }

    /// <summary>Creates the copy's file in tmp/; if the Maildir vanished since it was last seen (removed by hand while the
    /// server runs), it is made again and the open retried once.</summary>
    private SafeFileHandle OpenTmp(Copy c, HashSet<string> createdDirectories)
    {
        // Preferred: an unnamed file in new/ (O_TMPFILE), linked into place once durable: one directory operation per
        // copy instead of create in tmp/ plus rename, and a crash leaves nothing behind. Elsewhere: tmp/ and rename.
        if (_unnamedFiles && NativeMethods.TryOpenUnnamed(Path.Combine(c.Directory, "new")) is { } unnamed)
        {
            c.Unnamed = true;
            return unnamed;
        }
        if (_unnamedFiles && System.IO.Directory.Exists(Path.Combine(c.Directory, "new"))) _unnamedFiles = false;
        try
        {
            return File.OpenHandle(c.TmpPath, FileMode.Create, FileAccess.Write, FileShare.None);
        }
        catch (DirectoryNotFoundException)
        {
            _knownMaildirs.TryRemove(c.Directory, out _);
            EnsureMaildir(c.Directory, createdDirectories);
            return File.OpenHandle(c.TmpPath, FileMode.Create, FileAccess.Write, FileShare.None);
        }
    }

    private void EnsureMaildir(string directory, HashSet<string> createdDirectories)
    {
        if (_knownMaildirs.ContainsKey(directory)) return;
        string domainDir = Path.GetDirectoryName(directory)!;
        bool existed = System.IO.Directory.Exists(directory);
        bool domainExisted = existed || System.IO.Directory.Exists(domainDir);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "tmp"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "new"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "cur"));
        if (!existed) createdDirectories.Add(directory);
        if (!domainExisted)
        {
            createdDirectories.Add(domainDir);
            createdDirectories.Add(_root);
        }
        _knownMaildirs.TryAdd(directory, true);
    }

    private static bool AlreadyDelivered(Copy copy)
    {
        // The name is the base name, then ",S=…,W=…" (and ":2,flags" once a reader moved it to cur/).
        foreach (string sub in (ReadOnlySpan<string>)["new", "cur"])
        {
            string dir = Path.Combine(copy.Directory, sub);
            if (File.Exists(Path.Combine(dir, copy.FileName))) return true;
            foreach (string suffix in (ReadOnlySpan<string>)[",*", ":*"])
            {
                using IEnumerator<string> e = System.IO.Directory.EnumerateFiles(dir, copy.FileName + suffix).GetEnumerator();
                if (e.MoveNext()) return true;
            }
        }
        return false;
    }

    /// <summary>Copies a chunk of a body whose lines end in CRLF with the CR of every CRLF left out; a CR at the end of a
    /// chunk is held back until the next chunk shows whether LF follows. A CR not followed by LF is kept.</summary>
    /// <param name="chunk">The chunk as read from the spool.</param>
    /// <param name="output">Where the converted bytes go; at least one byte longer than <paramref name="chunk"/>.</param>
    /// <param name="pendingCr">Whether the previous chunk ended in a CR that was held back; updated.</param>
    /// <param name="last">Whether this is the last chunk (a held-back CR is then written).</param>
    /// <returns>The number of bytes written to <paramref name="output"/>.</returns>
    private static int DropCarriageReturns(ReadOnlySpan<byte> chunk, Span<byte> output, ref bool pendingCr, bool last)
    {
        int w = 0;
        if (pendingCr && (chunk.IsEmpty || chunk[0] != (byte)'\n')) output[w++] = (byte)'\r';
        pendingCr = false;
        int r = 0;
        while (r < chunk.Length)
        {
            int cr = chunk[r..].IndexOf((byte)'\r');
            if (cr < 0)
            {
                chunk[r..].CopyTo(output[w..]);
                w += chunk.Length - r;
                break;
            }
            chunk.Slice(r, cr).CopyTo(output[w..]);
            w += cr;
            r += cr + 1;
            if (r < chunk.Length)
            {
                if (chunk[r] != (byte)'\n') output[w++] = (byte)'\r';
            }
            else if (last)
            {
                output[w++] = (byte)'\r';
            }
            else
            {
                pendingCr = true;
            }
        }
        return w;
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
        if (c.Unnamed) return; // an unnamed file vanishes when its handle closes
        try
        {
            File.Delete(c.TmpPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A stale file in tmp/ is harmless (Maildir readers ignore tmp/).
        }
    }

    private static bool IsSafeSegment(string s) =>
        s.Length > 0 && s != "." && s != ".." && s.IndexOfAny(['/', '\\', '\0']) < 0;

    private static string EscapeHostName(string host) =>
        host.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);

    private sealed class Copy(string mailbox, string directory, string fileName)
    {
        public string Mailbox { get; } = mailbox;
        public string Directory { get; } = directory;
        public string FileName { get; } = fileName;
        public string TmpPath => Path.Combine(Directory, "tmp", FileName);
        public string NewPath => Path.Combine(Directory, "new", FinalName ?? FileName);
        public string? FinalName { get; set; }
        public long Lines { get; set; }
        public SafeFileHandle? Handle { get; set; }
        public bool Unnamed { get; set; }
        public byte[][]? Prefix { get; set; }
        public long Offset { get; set; }
        public RecipientResult? Result { get; set; }
    }
}
