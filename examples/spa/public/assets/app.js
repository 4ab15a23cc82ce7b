document.getElementById("app").textContent = "spa: " + location.pathname;
