// Plansearch page: one POST helper for the JSON API, with the page's CSRF token (empty
// when the server is open) and the API's error message when it refuses.

// With PLANSEARCH_ACCESS=keys or sso the page is signed in by its session cookie; a POST
// riding on that cookie must also carry the page's CSRF token (empty when open).
const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]')?.content || "";
const BUSY_RETRIES = 3;

function pause(seconds, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, seconds * 1000);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("Aborted", "AbortError")); });
  });
}

// A worker already answering its share of chats (or compares) says "busy" with
// Retry-After: wait and ask again a few times before showing the person an error.
export async function postJSON(url, body, signal, attempt = 0) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 ...(CSRF_TOKEN ? { "X-CSRF-Token": CSRF_TOKEN } : {}) },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error("Could not reach Plansearch. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (response.status === 401 && CSRF_TOKEN) {
    // the sign-in ran out (or its key was withdrawn): sign in again, then come back
    window.location.assign("/sign-in?next=" + encodeURIComponent(location.pathname));
  }
  const busy = response.status === 503 && data && data.error && data.error.code === "busy";
  if (busy && attempt < BUSY_RETRIES) {
    const wait = Math.min(Number(response.headers.get("Retry-After")) || 1, 5);
    await pause(wait, signal);
    return postJSON(url, body, signal, attempt + 1);
  }
  if (!response.ok || !data) {
    const error = (data && data.error) || {};
    const failure = new Error(error.message || `The service answered with an unexpected response (HTTP ${response.status}).`);
    failure.code = error.code;
    failure.field = error.field;
    throw failure;
  }
  return data;
}
