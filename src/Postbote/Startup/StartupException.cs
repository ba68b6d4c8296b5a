namespace Postbote.Host.Startup;

/// <summary>
/// The server cannot start, for a reason the administrator can act on. <see cref="Exception.Message"/> is one line that
/// names the setting, the path or address, and the reason; <see cref="ExitCode"/> says whose the fault is.
/// </summary>
public sealed class StartupException : Exception
{
    /// <summary>Exit code for a configuration error: a setting, or a file a setting names, is wrong.</summary>
    public const int ConfigurationExitCode = 2;

    /// <summary>Exit code for an environment error: the system refuses (port in use, permissions, read-only file system,
    /// a data directory in use by another server).</summary>
    public const int EnvironmentExitCode = 1;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line: setting, path or address, reason.</param>
    /// <param name="exitCode"><see cref="ConfigurationExitCode"/> (2) or <see cref="EnvironmentExitCode"/> (1).</param>
    /// <param name="inner">The underlying error, logged with its stack at debug level only.</param>
    public StartupException(string message, int exitCode, Exception? inner = null)
        : base(message, inner)
    {
        ExitCode = exitCode;
    }

    /// <summary>The process exit code: 2 for configuration, 1 for the environment.</summary>
    public int ExitCode { get; }
}
