namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    private static IEnumerable<ConfigurationSetting> SpfSettings() =>
    [
        S("spf.enabled", c => c.Spf.Enabled),
        S("spf.fail_action", c => c.Spf.FailAction == Postbote.Security.Spf.SpfFailAction.Reject ? "reject" : "record"),
        S("spf.temperror_action", c => c.Spf.TemperrorAction == Postbote.Security.Spf.SpfFailAction.Reject ? "defer" : "record"),
    ];

    // [[dkim.sign]] entries are an array of tables, which show-config does not print (check-config reads them).
    private static IEnumerable<ConfigurationSetting> DkimSettings() =>
    [
        S("dkim.verify", c => c.DkimVerify),
    ];

    private static IEnumerable<ConfigurationSetting> DmarcSettings() =>
    [
        S("dmarc.enabled", c => c.Dmarc.Enabled),
        S("dmarc.policy_action", c => c.Dmarc.Honour ? "honour" : "record"),
        S("dmarc.public_suffix_list", c => c.Dmarc.PublicSuffixListPath),
    ];

    private static IEnumerable<ConfigurationSetting> ArcSettingsList() =>
    [
        S("arc.verify", c => c.Arc.Verify),
        S("arc.seal", c => c.Arc.Seal),
        S("arc.seal_domain", c => c.Arc.SealDomain),
        S("arc.selector", c => c.Arc.SealSelector),
        S("arc.key", c => c.Arc.SealKey),
    ];

    private static IEnumerable<ConfigurationSetting> TraceSettings() =>
    [
        S("trace.retention", c => c.Trace.Retention),
        S("trace.max_size", c => c.Trace.MaxSize),
    ];

    private static IEnumerable<ConfigurationSetting> AdminSettings() =>
    [
        S("admin.listen", c => c.Admin.Listen.Select(e => e.ToString())),
        S("admin.users", c => c.Admin.Users),
    ];
}
