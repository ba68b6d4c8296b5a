using Microsoft.Extensions.Logging;
using Postbote.Delivery;
using Postbote.Smtp;

namespace Postbote.Host.Configuration;

/// <summary>The whole configuration of a Postbote instance, as read from TOML (see docs/configuration.md).</summary>
public sealed class PostboteConfiguration
{
    /// <summary>The data directory: spool in <c>spool/</c>, broken entries in <c>corrupt/</c>, Maildirs in <c>mail/</c>.
    /// Defaults to <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The SMTP service.</summary>
    public SmtpServerOptions Smtp { get; set; } = new();

    /// <summary>Local domains, mailboxes, aliases and Maildir root.</summary>
    public LocalDeliveryOptions Local { get; set; } = new();

    /// <summary>First retry interval for deferred recipients; doubled per attempt up to 4 hours. Defaults to 300 seconds.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The minimum log level. Defaults to Information.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Where the configuration came from: a file path, or <c>embedded default</c>.</summary>
    public string Source { get; set; } = "embedded default";

    /// <summary>The spool directory, <c>{DataDirectory}/spool</c>.</summary>
    public string SpoolDirectory => Path.Combine(DataDirectory, "spool");

    /// <summary>The corrupt-entry directory, <c>{DataDirectory}/corrupt</c>.</summary>
    public string CorruptDirectory => Path.Combine(DataDirectory, "corrupt");
}
