using Microsoft.Extensions.Logging;
using Postbote.Delivery.Smtp;
using Postbote.Dkim;
using Postbote.Host.Configuration;

namespace Postbote.Host.Startup;

/// <summary>
/// Builds the signing of relayed mail from <c>[[dkim.sign]]</c> and <c>[arc]</c>: reads every key file once at start-up
/// (a bad one stops the start with one line naming <c>dkim.sign</c> or <c>arc.key</c> and the reason) and again on
/// reload (SIGHUP), where a bad one is logged and the keys in use are kept.
/// </summary>
internal static class OutboundSigningSetup
{
    /// <summary>Reads the keys and builds the signing step.</summary>
    /// <param name="c">The configuration.</param>
    /// <param name="loggers">Where the keys in use are logged.</param>
    /// <returns>The signing step, or <c>null</c> when there is nothing to sign or seal with.</returns>
    /// <exception cref="StartupException">A key file cannot be used (exit code 2).</exception>
    public static OutboundSigning? Build(PostboteConfiguration c, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(c);
        ILogger log = loggers.CreateLogger("Postbote.Dkim");
        DkimKeyRing ring;
        DkimSigningKey? sealKey;
        try
        {
            (ring, sealKey) = Load(c);
        }
        catch (DkimKeyException e)
        {
            throw new StartupException(e.Message, StartupException.ConfigurationExitCode, e);
        }
        bool seal = c.Arc.Seal ?? (sealKey is not null || ring.Keys.Count > 0);
        if (ring.Keys.Count == 0 && !(seal && sealKey is not null)) return null;
        foreach (DkimSigningKey k in ring.Keys)
            log.LogInformation("DKIM: mail from {Domain} is signed with {Algorithm} under selector {Selector} ({Path})", k.Domain, k.AlgorithmName, k.Selector, k.Path);
        if (seal)
            log.LogInformation("ARC: forwarded mail is sealed with {Key}", sealKey is null ? "the forwarding domain's first RSA [[dkim.sign]] key" : $"d={sealKey.Domain} s={sealKey.Selector}");
        return new OutboundSigning(new DkimMessageSigner(ring), seal ? new ArcSealer(c.Smtp.HostName) : null, log) { ArcSealKey = sealKey };
    }

    /// <summary>Reads the key files again and puts them in place; a failure is logged and the keys in use are kept.</summary>
    /// <param name="c">The configuration.</param>
    /// <param name="signing">The signing step in use.</param>
    /// <param name="log">Where the outcome is logged.</param>
    public static void Reload(PostboteConfiguration c, OutboundSigning signing, ILogger log)
    {
        try
        {
            (DkimKeyRing ring, DkimSigningKey? sealKey) = Load(c);
            signing.Dkim.Keys = ring;
            signing.ArcSealKey = sealKey;
            log.LogInformation("DKIM: {Count} signing key(s) reloaded", ring.Keys.Count);
        }
        catch (DkimKeyException e)
        {
            log.LogError("{Reason}; the keys loaded before stay in use", e.Message);
        }
    }

    private static (DkimKeyRing, DkimSigningKey?) Load(PostboteConfiguration c)
    {
        DkimKeyRing ring;
        try
        {
            ring = DkimKeyRing.Load(c.DkimSign);
        }
        catch (DkimKeyException e)
        {
            throw new DkimKeyException("dkim.sign " + e.Message, e);
        }
        DkimSigningKey? sealKey = null;
        if (c.Arc.SealDomain is { } domain && c.Arc.Seal != false)
        {
            try
            {
                sealKey = DkimKeyRing.Load([new DkimSignEntry(domain, c.Arc.SealSelector!, c.Arc.SealKey!, DkimAlgorithm.RsaSha256)]).Keys[0];
            }
            catch (DkimKeyException e)
            {
                throw new DkimKeyException("arc.key " + e.Message, e);
            }
        }
        return (ring, sealKey);
    }
}
