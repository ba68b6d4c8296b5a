using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Postbote.Security.Ube;

/// <summary>
/// The embedded greylist store: every triplet in memory, and an append-only text file <c>triplets</c> in its directory
/// (<c>{data_dir}/greylist/</c>) that is read back at start-up, so the greylist survives a restart. The file starts with
/// the line <c>postbote-greylist 1</c>; each later line is one change, <c>key first passed last</c> (the key's 32 hex
/// digits, then three times in milliseconds since the Unix epoch, <c>passed</c> 0 while deferred); the last line of a key wins. Every change is
/// one <c>write(2)</c> of one line, not synced: a crash loses at most the changes the kernel had not written, which
/// costs a sender one more retry. Damaged lines (a torn last line) are skipped.
/// </summary>
/// <remarks>Bounded: expired triplets (deferred and not retried within the retry window, or passed and without mail for
/// <see cref="GreylistOptions.Expire"/>) are dropped when the file is compacted, at start-up and whenever it holds more
/// than twice as many lines as live triplets (at least 10,000); compaction writes a new file, syncs it and renames it
/// over the old one. Beyond <see cref="GreylistOptions.MaxEntries"/> triplets the least recently seen hundredth is
/// dropped.</remarks>
public sealed class FileGreylistStore : IGreylistStore
{
    /// <summary>The first line of the file.</summary>
    public const string Header = "postbote-greylist 1";

    private const int KeyLength = 32;
    private readonly string _path;
    private readonly GreylistOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GreylistEntry> _entries = new(StringComparer.Ordinal);
    private FileStream? _file;
    private long _lines;
    private bool _disposed;

    /// <summary>Opens (or creates) the store in a directory and reads the triplets kept there.</summary>
    /// <param name="directory">The directory, e.g. <c>{data_dir}/greylist</c>; created when missing.</param>
    /// <param name="options">The retry window, expiry and size bound.</param>
    /// <param name="time">The clock expiry is measured on.</param>
    /// <param name="log">Where damaged lines and compactions are logged.</param>
    /// <exception cref="IOException">The directory or file cannot be created, read or written.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission for the directory or file.</exception>
    public FileGreylistStore(string directory, GreylistOptions options, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(directory);
        _options = options;
        _time = time;
        _log = log;
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "triplets");
        int damaged = Load();
        if (damaged > 0) _log.LogWarning("greylist {Path}: {Damaged} damaged lines skipped", _path, damaged);
        lock (_lock) Compact();
    }

    /// <summary>The file's path.</summary>
    public string FilePath => _path;

    /// <inheritdoc />
    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    private int Load()
    {
        if (!File.Exists(_path)) return 0;
        int damaged = 0;
        using var reader = new StreamReader(_path, Encoding.ASCII);
        string? first = reader.ReadLine();
        if (first != Header)
        {
            _log.LogWarning("greylist {Path} does not start with '{Header}'; starting empty", _path, Header);
            return 0;
        }
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (TryParse(line, out string key, out GreylistEntry entry)) _entries[key] = entry;
            else damaged++;
        }
        return damaged;
    }

    private static bool TryParse(string line, out string key, out GreylistEntry entry)
    {
        key = "";
        entry = default;
        string[] f = line.Split(' ');
        if (f.Length != 4 || f[0].Length != KeyLength || !f[0].All(char.IsAsciiHexDigitLower)) return false;
        if (!long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out long firstSeen)
            || !long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long passed)
            || !long.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out long lastSeen)) return false;
        key = f[0];
        entry = new GreylistEntry(firstSeen, passed, lastSeen);
        return true;
    }

    private static string Line(string key, GreylistEntry e) =>
        string.Create(CultureInfo.InvariantCulture, $"{key} {e.FirstSeen} {e.Passed} {e.LastSeen}\n");

    /// <inheritdoc />
    public ValueTask<GreylistEntry?> FindAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_entries.TryGetValue(key, out GreylistEntry e) ? e : (GreylistEntry?)null);
        }
    }

    /// <inheritdoc />
    public ValueTask PutAsync(string key, GreylistEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != KeyLength || !key.All(char.IsAsciiHexDigitLower)) throw new ArgumentException("a greylist key is 32 lower-case hex digits", nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool added = _entries.TryAdd(key, entry);
            if (!added) _entries[key] = entry;
            if (added && _entries.Count > _options.MaxEntries) DropLeastRecent();
            _file!.Write(Encoding.ASCII.GetBytes(Line(key, entry)));
            _lines++;
            if (_lines > Math.Max(10_000, 2L * _entries.Count)) Compact();
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Whether an entry has expired at <paramref name="now"/> (Unix milliseconds).</summary>
    private bool Expired(GreylistEntry e, long now) => e.HasPassed
        ? now - e.LastSeen > (long)_options.Expire.TotalMilliseconds
        : now - e.FirstSeen > (long)_options.RetryWindow.TotalMilliseconds;

    private void DropLeastRecent()
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var (k, e) in _entries.ToList()) if (Expired(e, now)) _entries.Remove(k);
        if (_entries.Count <= _options.MaxEntries) return;
        int drop = Math.Max(1, _entries.Count - _options.MaxEntries + _options.MaxEntries / 100);
        foreach (var (k, _) in _entries.OrderBy(static p => p.Value.LastSeen).Take(drop).ToList()) _entries.Remove(k);
        _log.LogWarning("greylist full ({Max} triplets): the {Dropped} least recently seen dropped", _options.MaxEntries, drop);
    }

    /// <summary>Drops expired entries and rewrites the file with one line per live entry (new file, sync, rename).</summary>
    private void Compact()
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        int before = _entries.Count;
        foreach (var (k, e) in _entries.ToList()) if (Expired(e, now)) _entries.Remove(k);
        _file?.Dispose();
        string tmp = _path + ".tmp";
        using (var w = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
        {
            w.Write(Encoding.ASCII.GetBytes(Header + "\n"));
            foreach (var (k, e) in _entries) w.Write(Encoding.ASCII.GetBytes(Line(k, e)));
            w.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
        _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _lines = _entries.Count;
        if (before != _entries.Count) _log.LogInformation("greylist: {Expired} expired triplets dropped, {Live} kept", before - _entries.Count, _entries.Count);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _file?.Dispose();
            _file = null;
        }
    }
}
