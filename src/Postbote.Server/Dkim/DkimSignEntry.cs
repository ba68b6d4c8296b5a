namespace Postbote.Dkim;

/// <summary>One <c>[[dkim.sign]]</c> entry: mail whose From: domain is <paramref name="Domain"/> is signed with the key in
/// <paramref name="KeyPath"/> under <paramref name="Selector"/>.</summary>
/// <param name="Domain">The signing domain (<c>d=</c>), matched exactly (case-insensitively) against the From: domain.</param>
/// <param name="Selector">The selector (<c>s=</c>).</param>
/// <param name="KeyPath">The PEM private key file.</param>
/// <param name="Algorithm">The configured algorithm, or <c>null</c> to take the key's type.</param>
public sealed record DkimSignEntry(string Domain, string Selector, string KeyPath, DkimAlgorithm? Algorithm = null)
{
    /// <summary>The default key file of a domain and selector, as <c>postbote dkim keygen</c> writes it:
    /// <c>{dataDirectory}/dkim/{selector}._domainkey.{domain}.pem</c>.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="domain">The signing domain.</param>
    /// <param name="selector">The selector.</param>
    /// <returns>The path.</returns>
    public static string DefaultKeyPath(string dataDirectory, string domain, string selector) =>
        System.IO.Path.Combine(dataDirectory, "dkim", $"{selector}._domainkey.{domain.TrimEnd('.').ToLowerInvariant()}.pem");
}
