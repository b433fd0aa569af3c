// Plansearch page: one POST helper for the JSON API, with the page's CSRF token (empty
// when the server is open) and the API's error message when it refuses.

const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]')?.content || "";

export async function postJSON(url, body, signal) {
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
  if (!response.ok || !data) {
    const error = (data && data.error) || {};
    const failure = new Error(error.message || `The service answered with an unexpected response (HTTP ${response.status}).`);
    failure.code = error.code;
    failure.field = error.field;
    throw failure;
  }
  return data;
}
