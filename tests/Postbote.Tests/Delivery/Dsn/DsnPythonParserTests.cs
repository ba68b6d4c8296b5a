using System.Diagnostics;
using System.Text.Json;
using Postbote.Core;
using Postbote.Delivery.Dsn;
using Postbote.Queue;
using static Postbote.Tests.Delivery.Dsn.DsnTestSpool;

namespace Postbote.Tests.Delivery.Dsn;

/// <summary>The notice's bytes read by a parser that is not .NET's: Python's <c>email</c> package.</summary>
public sealed class DsnPythonParserTests : IDisposable
{
    private const string Script = """
        import email, json, sys
        msg = email.message_from_bytes(open(sys.argv[1], 'rb').read())
        parts = msg.get_payload()
        groups = parts[1].get_payload()
        returned = parts[2].get_payload()[0]
        print(json.dumps({
            'type': msg.get_content_type(),
            'report_type': msg.get_param('report-type'),
            'from': msg['From'], 'to': msg['To'], 'subject': msg['Subject'], 'auto': msg['Auto-Submitted'],
            'parts': [p.get_content_type() for p in parts],
            'groups': [[[k, ' '.join(v.split())] for k, v in g.items()] for g in groups],
            'returned_subject': returned['Subject'],
            'returned_body': returned.get_payload(decode=True).decode('utf-8'),
            'defects': [str(d) for p in msg.walk() for d in p.defects],
        }))
        """;

    private readonly DsnTestSpool _spool = new();
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task PythonsEmailPackageReadsEveryField()
    {
        SpoolEntry entry = await _spool.CommitAsync(Original, new Mailbox("sender", "example.org"),
            [("bob@example.net", DsnNotify.Failure, "rfc822;bob+2Bx@example.net"), ("carol@example.net", DsnNotify.Default, null)],
            [Failed("550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table"), Failed("451 4.4.1 no answer")],
            envid: "QQ+2B314159");
        byte[] bytes = new DsnBuilder(new DsnOptions { HostName = "mx.postbote.test" }).BuildBytes(entry,
            [new NoticeRecipient(0, DsnAction.Failed), new NoticeRecipient(1, DsnAction.Failed)], Now, new QueueId("0000000000NOTICE"));
        string file = _dir.Combine("dsn.eml");
        await File.WriteAllBytesAsync(file, bytes);

        using JsonDocument result = JsonDocument.Parse(await RunPythonAsync(file));
        JsonElement r = result.RootElement;
        Assert.Equal("multipart/report", r.GetProperty("type").GetString());
        Assert.Equal("delivery-status", r.GetProperty("report_type").GetString());
        Assert.Equal("Mail Delivery System <MAILER-DAEMON@mx.postbote.test>", r.GetProperty("from").GetString());
        Assert.Equal("sender@example.org", r.GetProperty("to").GetString());
        Assert.Equal("Undelivered Mail Returned to Sender", r.GetProperty("subject").GetString());
        Assert.Equal("auto-replied", r.GetProperty("auto").GetString());
        Assert.Equal(["text/plain", "message/delivery-status", "message/rfc822"],
            r.GetProperty("parts").EnumerateArray().Select(p => p.GetString()));
        string[][][] groups = r.GetProperty("groups").EnumerateArray()
            .Select(g => g.EnumerateArray().Select(f => f.EnumerateArray().Select(x => x.GetString()!).ToArray()).ToArray()).ToArray();
        Assert.Equal(3, groups.Length);
        Assert.Equal(
        [
            ["Original-Envelope-Id", "QQ+314159"],
            ["Reporting-MTA", "dns; mx.postbote.test"],
            ["Received-From-MTA", "dns; client.example.org [192.0.2.7]"],
            ["Arrival-Date", "Tue, 04 Mar 2025 05:06:07 +0000"],
        ], groups[0]);
        Assert.Equal(
        [
            ["Original-Recipient", "rfc822; bob+x@example.net"],
            ["Final-Recipient", "rfc822; bob@example.net"],
            ["Action", "failed"],
            ["Status", "5.1.1"],
            ["Remote-MTA", "dns; mx1.example.net"],
            ["Diagnostic-Code", "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table"],
            ["Last-Attempt-Date", "Tue, 04 Mar 2025 09:10:11 +0000"],
        ], groups[1]);
        Assert.Equal(
        [
            ["Final-Recipient", "rfc822; carol@example.net"],
            ["Action", "failed"],
            ["Status", "4.4.1"],
            ["Remote-MTA", "dns; mx1.example.net"],
            ["Diagnostic-Code", "smtp; 451 4.4.1 no answer"],
            ["Last-Attempt-Date", "Tue, 04 Mar 2025 09:10:11 +0000"],
        ], groups[2]);
        Assert.Equal("Quarterly figures", r.GetProperty("returned_subject").GetString());
        Assert.Equal("Grüße,\r\n.a line with a leading dot\r\nthe figures.\r\n", r.GetProperty("returned_body").GetString());
        Assert.Empty(r.GetProperty("defects").EnumerateArray());
    }

    private static async Task<string> RunPythonAsync(string file)
    {
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        psi.ArgumentList.Add(file);
        using var process = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        Assert.True(process.ExitCode == 0, "python3 failed: " + await stderr);
        return await stdout;
    }
}
