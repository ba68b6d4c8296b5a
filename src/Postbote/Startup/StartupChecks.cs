using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Postbote.Host.Startup;

/// <summary>
/// Checks made before the server starts anything, so that a wrong set-up is one line at start-up instead of a stack
/// trace, or a failure found only when the first message is delivered.
/// </summary>
public static class StartupChecks
{
    /// <summary>Makes sure a directory exists (creating it and its parents) and that a file can be created in it.</summary>
    /// <param name="setting">The setting that names the directory, e.g. <c>data_dir</c>.</param>
    /// <param name="path">The directory.</param>
    /// <exception cref="StartupException">The path is a file, cannot be created, or is not writable (exit code 1); the
    /// message names the setting, the full path and the system's reason (e.g. "Permission denied", "Read-only file
    /// system").</exception>
    public static void EnsureWritableDirectory(string setting, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new StartupException($"{setting} {full}: is a file, not a directory", StartupException.EnvironmentExitCode);
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"{setting} {full}: cannot be created: {Reason(e)}", StartupException.EnvironmentExitCode, e);
        }
        string probe = Path.Combine(full, $".postbote-write-test-{Environment.ProcessId}");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"{setting} {full}: not writable: {Reason(e)}", StartupException.EnvironmentExitCode, e);
        }
    }

    /// <summary>Checks that configured TLS files exist and hold a PEM certificate and its private key.</summary>
    /// <param name="certificatePath">The <c>tls.certificate</c> file.</param>
    /// <param name="keyPath">The <c>tls.key</c> file.</param>
    /// <exception cref="StartupException">A file is missing, unreadable, or does not hold what it should (exit code 2);
    /// the message names the setting and the full path.</exception>
    public static void CheckTlsFiles(string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificatePath);
        ArgumentNullException.ThrowIfNull(keyPath);
        string cert = Path.GetFullPath(certificatePath);
        string key = Path.GetFullPath(keyPath);
        string certText = ReadSetting("tls.certificate", cert);
        string keyText = ReadSetting("tls.key", key);
        try
        {
            using X509Certificate2 leaf = X509Certificate2.CreateFromPem(certText);
        }
        catch (CryptographicException e)
        {
            throw new StartupException($"tls.certificate {cert}: no PEM certificate in it ({e.Message})", StartupException.ConfigurationExitCode, e);
        }
        try
        {
            using X509Certificate2 pair = X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new StartupException($"tls.key {key}: no PEM private key (PKCS#8, RSA or EC) that belongs to tls.certificate ({e.Message})",
                StartupException.ConfigurationExitCode, e);
        }
    }

    /// <summary>The system's reason for an I/O error, without .NET's wording around it: the errno text when the runtime
    /// kept the errno (in <see cref="Exception.HResult"/> on Unix), "Permission denied" for access errors.</summary>
    /// <param name="e">The error.</param>
    /// <returns>A short reason such as "Read-only file system".</returns>
    public static string Reason(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e is UnauthorizedAccessException) return "Permission denied";
        if (!OperatingSystem.IsWindows() && e.HResult is > 0 and < 4096) return Marshal.GetPInvokeErrorMessage(e.HResult);
        return e.Message;
    }

    private static string ReadSetting(string setting, string path)
    {
        if (Directory.Exists(path))
            throw new StartupException($"{setting} {path}: is a directory, not a PEM file", StartupException.ConfigurationExitCode);
        if (!File.Exists(path))
            throw new StartupException($"{setting} {path}: no such file", StartupException.ConfigurationExitCode);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"{setting} {path}: cannot be read: {Reason(e)}", StartupException.EnvironmentExitCode, e);
        }
    }
}
