namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Assertions on what reached a Maildir.</summary>
public static class DeliveryAssert
{
    /// <summary>
    /// Waits for the message carrying <paramref name="marker"/> in <paramref name="mailbox"/> and checks that it is there
    /// once, that the three trace fields are what the server promises, and that the rest is <paramref name="expected"/>
    /// byte for byte.
    /// </summary>
    public static async Task<TracedMessage> DeliveredOnceAsync(
        PostboteServer server,
        string mailbox,
        string marker,
        byte[] expected,
        string reversePath,
        string? queueId,
        string context = "")
    {
        var maildir = server.Mailbox(mailbox);
        var message = await maildir.WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(20));
        Assert.True(message is not null, $"no message with {marker} reached {mailbox} within 20 s\n{maildir.Describe()}{context}{server.Diagnostics()}");

        TracedMessage traced;
        try
        {
            traced = message.SplitTrace();
        }
        catch (FormatException e)
        {
            Assert.Fail($"{e.Message}{context}");
            throw;
        }

        Assert.Equal($"Return-Path: <{reversePath}>\r\n", traced.ReturnPath);
        Assert.Equal($"Delivered-To: {mailbox}\r\n", traced.DeliveredTo);
        Assert.StartsWith("Received: ", traced.Received, StringComparison.Ordinal);
        if (queueId is not null)
        {
            Assert.True(
                traced.Received.Contains(queueId, StringComparison.Ordinal),
                $"the Received field does not name queue id {queueId}: {Transcript.Escape(System.Text.Encoding.Latin1.GetBytes(traced.Received), 2000)}");
        }

        // Escaped text first so a difference shows where it is; then the bytes themselves.
        Assert.Equal(Transcript.Escape(expected, int.MaxValue), Transcript.Escape(traced.Content, int.MaxValue));
        Assert.True(expected.AsSpan().SequenceEqual(traced.Content), "stored content differs from what was sent");

        await Task.Delay(500);
        var copies = maildir.Messages().Count(m => m.Contains(marker));
        Assert.True(copies == 1, $"{copies} copies of {marker} in {mailbox}, expected 1\n{maildir.Describe()}");
        return traced;
    }
}
