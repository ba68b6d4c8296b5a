using System.Security.Cryptography;

namespace Postbote.Security.Sasl;

/// <summary>
/// The server secret from which SCRAM derives the fake salt of unknown users (so that the salt an attacker sees for
/// a user name that does not exist stays the same from one attempt, and one restart, to the next, like a real one).
/// Kept in <c>{data_dir}/scram-secret</c>, 32 random bytes, mode 0600.
/// </summary>
public static class ScramServerSecret
{
    /// <summary>The file name inside the data directory.</summary>
    public const string FileName = "scram-secret";

    /// <summary>Length of the secret: 32 bytes.</summary>
    public const int Length = 32;

    /// <summary>Reads the secret, creating it first when missing.</summary>
    /// <param name="dataDirectory">The data directory (must exist).</param>
    /// <returns>The secret.</returns>
    /// <exception cref="IOException">The file cannot be read or written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file is not accessible.</exception>
    /// <exception cref="InvalidDataException">The file exists but does not hold 32 bytes.</exception>
    public static byte[] LoadOrCreate(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        string path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            byte[] fresh = RandomNumberGenerator.GetBytes(Length);
            string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(fresh);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                // Without overwrite: when another process created the file first, theirs is used.
                File.Move(temp, path, overwrite: false);
                return fresh;
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temp);
            }
        }
        byte[] secret = File.ReadAllBytes(path);
        if (secret.Length != Length) throw new InvalidDataException($"{path}: expected {Length} bytes, found {secret.Length}");
        return secret;
    }
}
