using System.Globalization;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// Postfix as the recipients' server: the built server relays to a Postfix instance on 127.0.0.1 (a
/// <c>[relay.transports]</c> entry; the MX path is tested against aiosmtpd in <see cref="RelayTests"/>), and Postfix's
/// virtual(8) stores the message with its own Return-Path, Delivered-To and Received lines, then exactly our bytes.
/// </summary>
public sealed class PostfixRelayTests
{
    [Fact]
    public async Task RelayedMailArrivesInPostfixsMaildirAsSentWithOurReceivedHeader()
    {
        await using var postfix = await PostfixReceiver.StartAsync("127.0.0.1", "pf.test");
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            Transports = new Dictionary<string, string> { ["pf.test"] = $"smtp:[127.0.0.1]:{postfix.EndPoint.Port}" },
        }, "postfix-relay");
        var marker = SmtpDialog.NewMarker("postfix");
        await SmtpDialog.SendSamplesAsync(server, "bob@pf.test", 1, _ => marker);

        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (postfix.Delivered.Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        string file = Assert.Single(postfix.Delivered);
        string stored = await File.ReadAllTextAsync(file);
        string sent = Encoding.ASCII.GetString(SmtpDialog.SampleMessage(marker)).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.True(stored.StartsWith("Return-Path: <a@example.org>\nX-Original-To: bob@pf.test\nDelivered-To: bob@pf.test\nReceived: from mx.test (unknown [127.0.0.1])\n\tby mx.pf.test (Postfix) with ESMTP id ", StringComparison.Ordinal),
            stored + postfix.Log);
        // Postfix's Received line (folded) comes first, then ours, then the message as sent, its dot lines unstuffed.
        int ours = stored.IndexOf("\nReceived: from client.test", StringComparison.Ordinal);
        Assert.True(ours > 0, stored);
        Assert.EndsWith("\n" + sent, stored, StringComparison.Ordinal);
        Assert.True(await server.WaitForLogAsync(
            string.Create(CultureInfo.InvariantCulture, $"to=<bob@pf.test>, relay=127.0.0.1[127.0.0.1]:{postfix.EndPoint.Port}"), 1, TimeSpan.FromSeconds(10)),
            server.Diagnostics());
        Assert.True(server.LogCount("status=sent (250 2.0.0 Ok: ") == 1, server.Diagnostics()); // Postfix: "Ok: N bytes queued as ID"
    }
}
