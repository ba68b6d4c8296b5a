using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Host.Control;
using Postbote.Queue;
using Postbote.Tracing;

namespace Postbote.Host.Admin;

public sealed partial class AdminServer
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The JSON API (docs/admin-api.md): login and logout, the queue, actions, the trace, the charts' counts.
    /// Everything but the login needs the session cookie; every POST but the login needs the CSRF header.</summary>
    private void MapApi(WebApplication app)
    {
        app.MapPost("/api/login", Handler(LoginAsync));
        app.MapPost("/api/logout", Handler(c => Authorised(c, write: true, s =>
        {
            _sessions.Logout(s.Id);
            c.Response.Cookies.Delete(AdminSessions.CookieName);
            return Task.FromResult(Results.Json(new { ok = true }));
        })));
        app.MapGet("/api/session", Handler(c => Authorised(c, write: false, s =>
            Task.FromResult(Results.Json(new { user = s.User, csrf = s.Csrf }, Json)))));
        app.MapGet("/api/queue", Handler(c => Authorised(c, write: false, _ =>
            Task.FromResult(Results.Json(new { messages = _queue.List().OrderBy(m => m.ReceivedAt).Select(Message).ToList() }, Json)))));
        app.MapPost("/api/queue/{id}/{action}", (HttpContext c, string id, string action) => Authorised(c, write: true, s => ActAsync(c, s, id, action)));
        app.MapGet("/api/trace/{query}", (HttpContext c, string query) => Authorised(c, write: false, async _ =>
        {
            TraceResult found = await _trace.FindAsync(query, c.RequestAborted).ConfigureAwait(false);
            var events = new JsonArray(found.Events.Select(e => JsonNode.Parse(EventLine.Format(e))).ToArray());
            return Results.Text(new JsonObject { ["query"] = query, ["events"] = events }.ToJsonString(), "application/json; charset=utf-8");
        }));
        app.MapGet("/api/stats", Handler(c => Authorised(c, write: false, _ =>
            Task.FromResult(Results.Json(new { minutes = _metrics.PerMinute() }, Json)))));
    }

    /// <summary>A handler whose result is written to the response (a lambda of one HttpContext would otherwise be taken
    /// as a RequestDelegate, and its result dropped).</summary>
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    private async Task<IResult> LoginAsync(HttpContext c)
    {
        if (!_sessions.Enabled) return Problem(403, "the queue page is off: no user is listed in [admin] users");
        LoginRequest? body;
        try
        {
            body = await c.Request.ReadFromJsonAsync<LoginRequest>(Json, c.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or BadHttpRequestException)
        {
            return Problem(400, "expected {\"user\": …, \"password\": …} as application/json");
        }
        if (body?.User is not { Length: > 0 and <= 320 } user || body.Password is not { Length: > 0 and <= 1024 } password)
            return Problem(400, "expected {\"user\": …, \"password\": …} as application/json");
        IPAddress client = c.Connection.RemoteIpAddress ?? IPAddress.None;
        var (session, limited) = await _sessions.LoginAsync(client, user, password, c.RequestAborted).ConfigureAwait(false);
        if (limited)
        {
            _log.LogWarning("admin: login from {Client} refused: too many attempts", client);
            return Problem(429, "too many login attempts; wait and try again");
        }
        if (session is null)
        {
            _log.LogWarning("admin: login of {User} from {Client} refused", ControlProtocol.Printable(user, 80), client);
            return Problem(401, "wrong user name or password, or not an admin user");
        }
        _log.LogInformation("admin: {User} logged in from {Client}", session.User, client);
        c.Response.Cookies.Append(AdminSessions.CookieName, session.Id, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            Secure = c.Request.IsHttps,
        });
        return Results.Json(new { user = session.User, csrf = session.Csrf }, Json);
    }

    private async Task<IResult> ActAsync(HttpContext c, AdminSession s, string idText, string action)
    {
        if (!ControlRequest.TryParseId(idText, out QueueId? parsed)) return Problem(400, "not a queue ID: " + ControlProtocol.QueueIdShape);
        QueueId id = parsed.Value;
        QueueControlResult? result;
        try
        {
            result = action switch
            {
                "retry" => await _queue.RetryAsync(id, c.RequestAborted).ConfigureAwait(false),
                "hold" => await _queue.HoldAsync(id, c.RequestAborted).ConfigureAwait(false),
                "release" => await _queue.ReleaseAsync(id, c.RequestAborted).ConfigureAwait(false),
                "delete" => await _queue.DeleteAsync(id, c.RequestAborted).ConfigureAwait(false),
                _ => null,
            };
        }
        catch (IOException e)
        {
            return Problem(500, $"{id.Value}: {action} failed: {e.Message}");
        }
        if (result is null) return Problem(404, "no such action: " + ControlProtocol.Printable(action, 20) + " (retry, hold, release, delete)");
        _log.LogInformation("admin: {User}: {Action} {QueueId}: {Result}", s.User, action, id.Value, result);
        return result switch
        {
            QueueControlResult.Done => Results.Json(new { id = id.Value, action, result = "done" }, Json),
            QueueControlResult.NotFound => Problem(404, id.Value + ": not in the queue"),
            _ => Problem(409, $"{id.Value}: {action} does not apply to the message now"),
        };
    }

    /// <summary>Runs <paramref name="run"/> for a logged-in session; a changing request also needs the CSRF header.</summary>
    private async Task<IResult> Authorised(HttpContext c, bool write, Func<AdminSession, Task<IResult>> run)
    {
        AdminSession? s = _sessions.Find(c.Request.Cookies[AdminSessions.CookieName]);
        if (s is null) return Problem(401, "not logged in");
        if (write && !string.Equals(c.Request.Headers[AdminSessions.CsrfHeader].ToString(), s.Csrf, StringComparison.Ordinal))
            return Problem(403, $"missing or wrong {AdminSessions.CsrfHeader} header");
        return await run(s).ConfigureAwait(false);
    }

    private static IResult Problem(int status, string error) => Results.Json(new { error }, Json, statusCode: status);

    private static object Message(QueueEntryInfo m) => new
    {
        id = m.Id.Value,
        received_at = m.ReceivedAt,
        size = m.Size,
        from = m.ReversePath,
        recipients = m.Recipients.Select((r, i) => new
        {
            address = r.Address.ToString(),
            status = r.Status.ToString().ToLowerInvariant(),
            attempts = i < m.States.Count ? m.States[i].Attempts : 0,
            next_attempt = i < m.States.Count ? m.States[i].NextAttemptAt : null,
            last_reply = i < m.States.Count ? m.States[i].LastReply : null,
            remote_host = i < m.States.Count ? m.States[i].RemoteHost : null,
        }).ToList(),
    };

    private sealed record LoginRequest(string? User, string? Password);
}
