using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.IO;

namespace Postbote.Security.Users;

/// <summary>
/// The embedded user store: one file, <c>{data_dir}/users</c>, one JSON object per line (JSON Lines):
/// <code>{"name":"alice@example.com","password":"$argon2id$v=19$m=19456,t=2,p=1$…$…","scram":{"salt":"…","iterations":10000,"stored_key":"…","server_key":"…"},"addresses":["a@example.com"],"any_sender":false}</code>
/// (binary fields in base64). The file has mode 0600 and is rewritten atomically (a temporary file in the same directory
/// is written and fsynced, renamed over the old one, and the directory fsynced), under an advisory lock on
/// <c>users.lock</c> so that two <c>postbote user</c> commands do not lose each other's change. A running server notices
/// a changed file (modification time or length) on its next lookup and reloads it: <c>postbote user add</c> takes
/// effect without a restart.
/// </summary>
public sealed class FileUserStore : IUserStore
{
    /// <summary>The file name inside the data directory.</summary>
    public const string FileName = "users";

    /// <summary>How long a writer waits for another process's lock on the file: 10 seconds.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly Lock _reloadLock = new();
    private readonly Lock _writeLock = new();
    private volatile Snapshot _snapshot = Snapshot.Empty;

    /// <summary>Creates the store; nothing is read until the first lookup.</summary>
    /// <param name="dataDirectory">The data directory; created (mode 0700) on the first write when missing.</param>
    /// <param name="logger">Logs unreadable lines and reload failures; <c>null</c> for none.</param>
    public FileUserStore(string dataDirectory, ILogger<FileUserStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        DataDirectory = Path.GetFullPath(dataDirectory);
        FilePath = Path.Combine(DataDirectory, FileName);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The users file, <c>{data_dir}/users</c>.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Current().Users.GetValueOrDefault(name));
    }

    /// <inheritdoc />
    public IReadOnlyList<UserRecord> List() =>
        Current().Users.Values.OrderBy(u => u.Name, StringComparer.OrdinalIgnoreCase).ToArray();

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The existing file has a line that cannot be read; it is left alone rather
    /// than rewritten without that user.</exception>
    public void AddOrUpdate(UserRecord user)
    {
        ArgumentNullException.ThrowIfNull(user);
        UserRecordValidator.Validate(user);
        Modify(users =>
        {
            users[user.Name] = user;
            return true;
        });
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The existing file has a line that cannot be read.</exception>
    public bool Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Modify(users => users.Remove(name));
    }

    private Snapshot Current()
    {
        Stamp stamp = Stamp.Of(FilePath);
        Snapshot snapshot = _snapshot;
        if (snapshot.Stamp == stamp) return snapshot;
        lock (_reloadLock)
        {
            snapshot = _snapshot;
            stamp = Stamp.Of(FilePath);
            if (snapshot.Stamp == stamp) return snapshot;
            try
            {
                Dictionary<string, UserRecord> users = Read(strict: false);
                snapshot = new Snapshot(stamp, users.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
                _snapshot = snapshot;
                if (stamp.Exists) _logger.LogInformation("Users: loaded {Count} users from {File}", users.Count, FilePath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogError(e, "Users: cannot read {File}; keeping the {Count} users loaded before", FilePath, snapshot.Users.Count);
            }
            return snapshot;
        }
    }

    private bool Modify(Func<Dictionary<string, UserRecord>, bool> change)
    {
        lock (_writeLock)
        {
            if (!Directory.Exists(DataDirectory))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(DataDirectory);
                else Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            using FileStream fileLock = AcquireLock();
            Dictionary<string, UserRecord> users = Read(strict: true);
            if (!change(users)) return false;
            Write(users);
            _snapshot = new Snapshot(Stamp.Of(FilePath), users.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
            return true;
        }
    }

    private FileStream AcquireLock()
    {
        string path = FilePath + ".lock";
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            // On Unix .NET takes an advisory flock(LOCK_EX | LOCK_NB) for FileShare.None.
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        DateTime deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path, options);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private Dictionary<string, UserRecord> Read(bool strict)
    {
        var users = new Dictionary<string, UserRecord>(StringComparer.OrdinalIgnoreCase);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(FilePath, Encoding.UTF8);
        }
        catch (FileNotFoundException)
        {
            return users;
        }
        catch (DirectoryNotFoundException)
        {
            return users;
        }
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                UserRecord user = Parse(lines[i]);
                UserRecordValidator.Validate(user);
                users[user.Name] = user;
            }
            catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException
                or KeyNotFoundException)
            {
                if (strict) throw new InvalidDataException($"{FilePath}, line {i + 1}: {e.Message}", e);
                _logger.LogWarning("Users: {File}, line {Line}: skipped, cannot be read: {Error}", FilePath, i + 1, e.Message);
            }
        }
        return users;
    }

    private void Write(Dictionary<string, UserRecord> users)
    {
        string temp = Path.Combine(DataDirectory, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                foreach (UserRecord user in users.Values.OrderBy(u => u.Name, StringComparer.OrdinalIgnoreCase))
                {
                    Serialize(stream, user);
                    stream.WriteByte((byte)'\n');
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, FilePath, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
            }
            throw;
        }
        NativeMethods.FsyncDirectory(DataDirectory);
    }

    private static void Serialize(Stream stream, UserRecord user)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("name", user.Name);
        json.WriteString("password", user.PasswordHash);
        json.WriteStartObject("scram");
        json.WriteBase64String("salt", user.Scram.Salt.AsSpan());
        json.WriteNumber("iterations", user.Scram.Iterations);
        json.WriteBase64String("stored_key", user.Scram.StoredKey.AsSpan());
        json.WriteBase64String("server_key", user.Scram.ServerKey.AsSpan());
        json.WriteEndObject();
        json.WriteStartArray("addresses");
        foreach (string address in user.Addresses) json.WriteStringValue(address);
        json.WriteEndArray();
        json.WriteBoolean("any_sender", user.AnySender);
        json.WriteEndObject();
    }

    private static UserRecord Parse(string line)
    {
        using JsonDocument document = JsonDocument.Parse(line);
        JsonElement root = document.RootElement;
        JsonElement scram = root.GetProperty("scram");
        var addresses = new List<string>();
        if (root.TryGetProperty("addresses", out JsonElement list))
        {
            foreach (JsonElement a in list.EnumerateArray()) addresses.Add(a.GetString() ?? throw new FormatException("null address"));
        }
        return new UserRecord(
            root.GetProperty("name").GetString() ?? throw new FormatException("null name"),
            root.GetProperty("password").GetString() ?? throw new FormatException("null password"),
            new ScramCredentials(
                ImmutableArray.Create(scram.GetProperty("salt").GetBytesFromBase64()),
                scram.GetProperty("iterations").GetInt32(),
                ImmutableArray.Create(scram.GetProperty("stored_key").GetBytesFromBase64()),
                ImmutableArray.Create(scram.GetProperty("server_key").GetBytesFromBase64())),
            addresses,
            root.TryGetProperty("any_sender", out JsonElement any) && any.GetBoolean());
    }

    /// <summary>What identifies one version of the file without reading it.</summary>
    private readonly record struct Stamp(bool Exists, DateTime LastWriteUtc, long Length)
    {
        public static Stamp Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new Stamp(true, info.LastWriteTimeUtc, info.Length) : default;
        }
    }

    private sealed record Snapshot(Stamp Stamp, FrozenDictionary<string, UserRecord> Users)
    {
        public static readonly Snapshot Empty = new(default, FrozenDictionary<string, UserRecord>.Empty);
    }
}
