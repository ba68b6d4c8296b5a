using Postbote.Testing.Dns;

namespace Postbote.Tests.Dns;

/// <summary>One nsd for every DNS test class; the classes of this collection run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DnsServerCollection : ICollectionFixture<DnsServerFixture>
{
    public const string Name = "dns server";
}
