"""The leaders' 驾驶舱 (dashboard): signed links (tokens), who sees what (viewer), the data of each page
(pages) and the `看板` chat command (chat). Platform-free: bot/dashboard serves the pages."""
